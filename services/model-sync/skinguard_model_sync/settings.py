"""Settings of model-sync, from ``SKINGUARD_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from skinguard_model_repository.settings import RepositorySettings


class SyncSettings(RepositorySettings):
    uses = frozenset({"s3"})
    s3_timeout_seconds: float = 30.0  # whole SavedModels are downloaded
    sync_models: list[str] = Field(default_factory=list)  # empty: just model_name
    # Longer than the server's config poll: a version leaves one cycle after its label moved
    # away, by which time the server must have re-read the config (services/serving/README.md).
    sync_interval_seconds: float = Field(30.0, gt=0)
    sync_keep_versions: int = Field(2, ge=1)  # promoted versions kept on disk, newest first
    # The server to wait on until new versions are AVAILABLE before labels move to them.
    sync_serving_address: str | None = None
    sync_available_timeout_seconds: float = Field(300.0, gt=0)
    # Touched after every sync cycle (liveness for make run and Kubernetes); unset: none.
    heartbeat_file: Path | None = Path("/tmp/skinguard-model-sync.alive")

    @property
    def models_to_sync(self) -> list[str]:
        return self.sync_models or [self.model_name]
