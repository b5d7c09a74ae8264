"""Settings of the model server and model-sync, from ``SKINGUARD_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from skinguard_common.settings import CommonSettings


class ServingSettings(CommonSettings):
    # The model repository: <model_repository>/<model_name>/<version>/saved_model.pb.
    model_repository: Path = Path("var/models")
    # The model served when no config file is given, and the one model-sync syncs by default.
    model_name: str = "skinguard"
    # Its version directories, as tensorflow_model_server's --model_base_path; default
    # <model_repository>/<model_name>.
    model_base_path: Path | None = None
    # TensorFlow Serving's text-format ModelServerConfig; model-sync keeps its version labels.
    model_config_file: Path | None = None
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

    sync_models: list[str] = Field(default_factory=list)  # empty: just model_name
    # Longer than the server's config poll: a version leaves one cycle after its label moved
    # away, by which time the server must have re-read the config (README.md, "Ordering").
    sync_interval_seconds: float = Field(30.0, gt=0)
    sync_keep_versions: int = Field(2, ge=1)  # promoted versions kept on disk, newest first
    sync_s3_prefix: str = "models"
    # The server to wait on until new versions are AVAILABLE before labels move to them.
    sync_serving_address: str | None = None
    sync_available_timeout_seconds: float = Field(300.0, gt=0)
    # Touched after every sync cycle (liveness for make run and Kubernetes); unset: none.
    heartbeat_file: Path | None = None

    @property
    def single_model_base_path(self) -> Path:
        return self.model_base_path or self.model_repository / self.model_name

    @property
    def models_to_sync(self) -> list[str]:
        return self.sync_models or [self.model_name]
