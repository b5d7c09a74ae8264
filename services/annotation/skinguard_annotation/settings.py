from __future__ import annotations

from pydantic import Field

from skinguard_runtime.settings import CommonSettings


class AnnotationSettings(CommonSettings):
    uses = frozenset({"database", "s3", "redis"})
    annotation_host: str = "127.0.0.1"
    annotation_port: int = 8002
    # An image is disputed when more than this share of its current labels disagree with the consensus.
    dispute_threshold: float = Field(0.2, ge=0, lt=0.5)
    # Presigned URLs in dataset exports must outlive a training run's download phase.
    export_url_ttl_seconds: int = Field(6 * 3600, ge=60, le=7 * 24 * 3600)
    # Each wait on Redis (publishing a task, the cancel flag): a Redis outage answers 503 in seconds.
    queue_timeout_seconds: float = Field(3.0, gt=0)
