"""The registry's tables: training jobs, model versions and evaluations, with their states.

This package owns them and their migration history (``skinguard_registry:migrations``, applied
by the annotation service's ``migrate``); the annotation API and the training worker write them.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Enum, Float, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from skinguard_database import Base


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


class EvaluationPurpose(enum.StrEnum):
    request = "request"  # asked for through the API
    gate = "gate"  # run by the worker before the gate decides (SKINGUARD_GATE_EXTERNAL_DATASET)


class ModelEvaluation(Base):
    """One evaluation of a model version on a dataset version: a queued job and, once done, its result."""

    __tablename__ = "model_evaluations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    model_name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    dataset_id: Mapped[uuid.UUID]
    split: Mapped[str | None] = mapped_column(String(10))  # None: every image of the dataset
    state: Mapped[JobState] = mapped_column(Enum(JobState, name="job_state", create_type=False))
    purpose: Mapped[str] = mapped_column(String(16), default=EvaluationPurpose.request.value)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    artifact_url: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ModelIndexGeneration(Base):
    """How many times a model's ``versions.json`` was written; its row is the writers' lock."""

    __tablename__ = "model_index_generations"

    model_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger)
