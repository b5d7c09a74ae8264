from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from skinguard_contracts.labels import SplitName
from skinguard_contracts.requests import WRITE_MODEL, JsonUuid
from skinguard_contracts.training_config import TrainingConfig
from skinguard_registry.records import JobState, ModelEvaluation, ModelStatus, ModelVersion, TrainingJob

MODEL_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class TrainingJobIn(BaseModel):
    model_config = WRITE_MODEL

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


class EvaluationIn(BaseModel):
    model_config = WRITE_MODEL

    dataset_id: JsonUuid = Field(description="the dataset version to evaluate on (e.g. a clinic's own photos)")
    split: SplitName | None = Field(None, description="one split of it; every image of the dataset when left out")


class EvaluationOut(BaseModel):
    id: uuid.UUID
    model_name: str
    version: int
    dataset_id: uuid.UUID
    split: str | None
    state: JobState
    purpose: str = Field(description="request (through this API) or gate (the worker's external check)")
    result: dict[str, Any] | None = Field(
        description="roc_auc with roc_auc_ci95, sensitivity and specificity at the version's decision threshold, "
        "ece, confusion_matrix, samples, malignant, and the same per slice (source, body_site, sex, age_band, "
        "diagnosis)"
    )
    artifact_url: str | None = Field(description="the report folder: evaluation.json and plots/*.png")
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, evaluation: ModelEvaluation) -> EvaluationOut:
        return cls.model_validate(evaluation, from_attributes=True)


class EvaluationList(BaseModel):
    items: list[EvaluationOut]
