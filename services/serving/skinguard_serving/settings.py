"""Settings of the model server, from ``SKINGUARD_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from skinguard_model_repository.settings import RepositorySettings


class ServingSettings(RepositorySettings):
    uses = frozenset()  # the model repository on disk only
    model_config_file_poll_wait_seconds: float = Field(10.0, ge=0)
    file_system_poll_wait_seconds: float = Field(1.0, gt=0)

    serving_host: str = "0.0.0.0"
    serving_grpc_port: int = Field(8500, ge=0)
    serving_metrics_port: int = Field(8501, ge=0)  # Prometheus; 0 turns it off
    serving_grpc_max_threads: int = Field(32, ge=1)
    serving_grpc_max_message_bytes: int = Field(64 * 1024 * 1024, ge=4 * 1024 * 1024)

    enable_batching: bool = True
    batching_parameters_file: Path | None = None
    enable_model_warmup: bool = True
    tensorflow_intra_op_parallelism: int = Field(0, ge=0)  # 0: TensorFlow decides
    tensorflow_inter_op_parallelism: int = Field(0, ge=0)
