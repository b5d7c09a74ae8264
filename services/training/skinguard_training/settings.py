from __future__ import annotations

import uuid
from pathlib import Path

from pydantic import Field

from skinguard_runtime.settings import CommonSettings

from .image_cache import PixelCache


class WorkerSettings(CommonSettings):
    uses = frozenset({"database", "s3", "redis"})
    s3_timeout_seconds: float = 30.0  # models of tens of MB move through S3
    work_dir: Path = Path("/tmp/skinguard-training")
    image_cache_dir: Path = Path("/tmp/skinguard-training/image-cache")
    # Bounds of the decoded-pixel cache, and how often the worker sweeps it (also dropping the
    # entries of erased images): the longest an erased photo's pixels stay on the worker's disk.
    image_cache_max_bytes: int = Field(20 * 2**30, gt=0)
    image_cache_max_age_seconds: float = Field(7 * 86400, gt=0)
    image_cache_sweep_seconds: float = Field(600, gt=0)
    # The only place a job's `weights` file may come from (TrainingConfig names a file in it).
    weights_dir: Path = Path("/var/lib/skinguard/weights")
    # The quality gate (registry.decide): test ROC AUC >= floor and not worse than the promoted model
    # by > margin; test sensitivity at the operating point >= target - tolerance; test ECE <= max;
    # and, with an external dataset version set, its AUC and sensitivity above their floors.
    gate_min_auc: float = Field(0.75, ge=0, le=1)
    gate_margin: float = Field(0.02, ge=0, le=1)
    gate_sensitivity_tolerance: float = Field(0.05, ge=0, le=1)
    gate_max_ece: float = Field(0.1, ge=0, le=1)
    gate_external_dataset: uuid.UUID | None = None
    gate_external_min_auc: float = Field(0.7, ge=0, le=1)
    gate_external_min_sensitivity: float = Field(0.8, ge=0, le=1)
    # A job whose worker died this many times is failed instead of re-run.
    max_attempts: int = Field(2, ge=1)
    # Seconds Redis keeps an unacknowledged task before handing it to another worker.
    visibility_timeout_seconds: int = Field(3600, ge=5)
    # A running job silent this long is failed as lost (its task cannot come back); default
    # twice the visibility timeout, the latest a re-delivered task is claimed again.
    stale_job_seconds: float | None = Field(None, gt=0)
    worker_concurrency: int = Field(1, ge=1)
    # Touched while the worker process lives (liveness/readiness for make run and Kubernetes).
    heartbeat_file: Path = Path("/tmp/skinguard-worker.alive")

    def image_cache(self) -> PixelCache:
        return PixelCache(
            self.image_cache_dir, max_bytes=self.image_cache_max_bytes, max_age_seconds=self.image_cache_max_age_seconds
        )

    @property
    def stale_after_seconds(self) -> float:
        return self.stale_job_seconds or 2.0 * self.visibility_timeout_seconds
