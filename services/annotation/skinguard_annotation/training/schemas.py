from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from skinguard_common.registry import JobState, ModelStatus, ModelVersion, TrainingJob
from skinguard_common.training_config import TrainingConfig

MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class TrainingJobIn(BaseModel):
    model_config = {"extra": "forbid"}

    model_name: str = Field("skinguard", pattern=MODEL_NAME_PATTERN, description="registry name of the model")
    config: TrainingConfig = Field(default_factory=TrainingConfig)


class TrainingJobOut(BaseModel):
    id: uuid.UUID
    dataset_id: uuid.UUID
    model_name: str
    config: dict[str, Any]
    state: JobState
    progress: dict[str, Any] = Field(description="epoch, batch, current metrics")
    error: str | None
    cancel_requested: bool
    attempts: int
    model_version: int | None
    created_at: datetime
    started_at: datetime | None
    heartbeat_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: TrainingJob) -> TrainingJobOut:
        return cls.model_validate(job, from_attributes=True)


class TrainingJobPage(BaseModel):
    items: list[TrainingJobOut]
    total: int
    limit: int
    offset: int


class ModelVersionOut(BaseModel):
    model_name: str
    version: int
    status: ModelStatus
    job_id: uuid.UUID | None
    dataset_id: uuid.UUID
    artifact_url: str
    test_auc: float | None
    metrics: dict[str, Any]
    gate: dict[str, Any]
    created_at: datetime
    promoted_at: datetime | None

    @classmethod
    def of(cls, version: ModelVersion) -> ModelVersionOut:
        return cls.model_validate(version, from_attributes=True)


class ModelVersionList(BaseModel):
    items: list[ModelVersionOut]
