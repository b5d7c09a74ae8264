"""Training jobs and the model registry: records shared by the annotation API and the worker.

The tables are created by the annotation service's migrations (with their foreign keys);
this module holds their mapping and the rules every writer follows — job states, the quality gate, promotion and
rollback, and the ``models/<name>/versions.json`` index that model-sync reads from S3.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Enum, Float, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base

TRAIN_TASK = "skinguard.train"  # Celery task name; its only argument is the job id (a string)
TRAINING_QUEUE = "training"


def cancel_key(job_id: uuid.UUID | str) -> str:
    """Redis key the API sets to ask a running job to stop (checked by the worker every batch)."""
    return f"skinguard:training-job:{job_id}:cancel"


class JobState(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.succeeded, JobState.failed, JobState.cancelled)


class ModelStatus(enum.StrEnum):
    candidate = "candidate"
    promoted = "promoted"
    rejected = "rejected"
    archived = "archived"


class TrainingJob(Base):
    __tablename__ = "training_jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dataset_id: Mapped[uuid.UUID] = mapped_column(index=True)
    model_name: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSONB)
    state: Mapped[JobState] = mapped_column(Enum(JobState, name="job_state"), default=JobState.queued)
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    model_name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[ModelStatus] = mapped_column(Enum(ModelStatus, name="model_status"))
    job_id: Mapped[uuid.UUID | None]
    dataset_id: Mapped[uuid.UUID]
    artifact_url: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB)
    gate: Mapped[dict[str, Any]] = mapped_column(JSONB)
    test_auc: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def model_prefix(model_name: str, version: int) -> str:
    return f"models/{model_name}/{version}/"


def versions_index_key(model_name: str) -> str:
    return f"models/{model_name}/versions.json"


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str

    def as_dict(self, floor: float, margin: float, baseline: float | None) -> dict[str, Any]:
        return {"promote": self.promote, "reason": self.reason, "floor": floor, "margin": margin, "baseline": baseline}


def decide(candidate_auc: float | None, promoted_auc: float | None, *, floor: float, margin: float) -> GateDecision:
    """Promote when test AUC reaches the floor and is not worse than the promoted model by more than the margin."""
    if candidate_auc is None:
        return GateDecision(False, "no test ROC AUC (the test split lacks one of the classes)")
    if candidate_auc < floor:
        return GateDecision(False, f"test AUC {candidate_auc:.4f} is below the floor {floor:.4f}")
    if promoted_auc is not None and candidate_auc < promoted_auc - margin:
        return GateDecision(
            False,
            f"test AUC {candidate_auc:.4f} is worse than the promoted model's {promoted_auc:.4f} "
            f"by more than {margin:.4f}",
        )
    baseline = "" if promoted_auc is None else f" (promoted model: {promoted_auc:.4f})"
    return GateDecision(True, f"test AUC {candidate_auc:.4f} passes the floor {floor:.4f}{baseline}")


def promote(target: ModelVersion, versions: Sequence[ModelVersion]) -> None:
    """Make ``target`` the promoted version of its model; the previous one is archived."""
    for version in versions:
        if version.status is ModelStatus.promoted and version is not target:
            version.status = ModelStatus.archived
    target.status = ModelStatus.promoted
    target.promoted_at = datetime.now(UTC)


def rollback(target: ModelVersion, versions: Sequence[ModelVersion]) -> ModelVersion | None:
    """Withdraw the promoted ``target``; the version promoted before it returns. Returns that one."""
    cutoff = target.promoted_at
    earlier = [
        (v.promoted_at, v)
        for v in versions
        if v is not target
        and v.status is ModelStatus.archived
        and v.promoted_at is not None
        and cutoff is not None
        and v.promoted_at < cutoff
    ]
    target.status = ModelStatus.rejected
    if not earlier:
        return None
    _, previous = max(earlier, key=lambda pair: pair[0])
    previous.status = ModelStatus.promoted
    previous.promoted_at = datetime.now(UTC)
    return previous


def versions_index(model_name: str, versions: Sequence[ModelVersion]) -> dict[str, Any]:
    """What model-sync reads: every version's status; the promoted one is labelled ``stable``."""
    return {
        "model": model_name,
        "versions": [
            {
                "version": v.version,
                "status": v.status.value,
                "labels": ["stable"] if v.status is ModelStatus.promoted else [],
            }
            for v in sorted(versions, key=lambda v: v.version)
        ],
    }
