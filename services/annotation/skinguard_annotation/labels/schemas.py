from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from skinguard_contracts.labels import Label
from skinguard_contracts.requests import WRITE_MODEL

MAX_METADATA_BYTES = 4096


class AnnotateIn(BaseModel):
    model_config = WRITE_MODEL

    label: Label
    confidence: float | None = Field(None, ge=0, le=1, description="annotator's confidence in [0, 1]")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("metadata")
    @classmethod
    def _small(cls, value: dict[str, Any]) -> dict[str, Any]:
        import json

        if len(json.dumps(value)) > MAX_METADATA_BYTES:
            raise ValueError(f"metadata must serialise to at most {MAX_METADATA_BYTES} bytes")
        return value


class AdjudicateIn(BaseModel):
    model_config = WRITE_MODEL

    label: Label
    note: str = Field("", max_length=2000, description="why (shown with the decision's history)")


class AdjudicationOut(BaseModel):
    id: uuid.UUID
    image_id: uuid.UUID
    label: Label
    note: str
    adjudicator_id: uuid.UUID
    created_at: datetime
    superseded_at: datetime | None
    current: bool

    @classmethod
    def of(cls, decision) -> AdjudicationOut:
        return cls(
            id=decision.id,
            image_id=decision.image_id,
            label=decision.label,
            note=decision.note,
            adjudicator_id=decision.adjudicator_id,
            created_at=decision.created_at,
            superseded_at=decision.superseded_at,
            current=decision.superseded_at is None,
        )


class AnnotationOut(BaseModel):
    id: uuid.UUID
    image_id: uuid.UUID
    label: Label
    confidence: float | None
    annotator_id: uuid.UUID
    metadata: dict[str, Any]
    created_at: datetime
    superseded_at: datetime | None
    current: bool

    @classmethod
    def of(cls, annotation) -> AnnotationOut:
        return cls(
            id=annotation.id,
            image_id=annotation.image_id,
            label=annotation.label,
            confidence=annotation.confidence,
            annotator_id=annotation.annotator_id,
            metadata=annotation.meta,
            created_at=annotation.created_at,
            superseded_at=annotation.superseded_at,
            current=annotation.superseded_at is None,
        )


class ConsensusOut(BaseModel):
    image_id: uuid.UUID
    label: Label
    votes: dict[str, int]
    annotators: int
    agreement: float = Field(description="share of current labels that agree with the consensus")
    disputed: bool = Field(description="the annotators disagree beyond the threshold and no admin has decided")
    adjudicated: bool = Field(description="an admin's decision sets the label")

    @classmethod
    def of(cls, row) -> ConsensusOut:
        return cls(
            image_id=row.image_id,
            label=row.label,
            votes={"benign": row.benign, "malignant": row.malignant},
            annotators=row.annotators,
            agreement=row.agreement,
            disputed=row.disputed,
            adjudicated=row.adjudicated,
        )


class ImageAnnotationsOut(BaseModel):
    image_id: uuid.UUID
    consensus: ConsensusOut | None = Field(description="admins only; null while unlabelled or for blind annotators")
    annotations: list[AnnotationOut] = Field(description="history, newest first; annotators see only their own")
    adjudications: list[AdjudicationOut] = Field(
        default_factory=list, description="admins only: decisions on this image, newest first"
    )


class ConsensusPage(BaseModel):
    items: list[ConsensusOut]
    total: int
    limit: int
    offset: int


class PairAgreementOut(BaseModel):
    annotator_a: uuid.UUID
    annotator_b: uuid.UUID
    images: int
    observed_agreement: float
    cohen_kappa: float | None


class AgreementOut(BaseModel):
    images: int = Field(description="images with at least two current labels")
    annotators: int
    labels: int
    fleiss_kappa: float | None
    pairs: list[PairAgreementOut]


class QueueItem(BaseModel):
    image_id: uuid.UUID
    content_url: str = Field(description="short-lived presigned URL of the image")
    width: int
    height: int
    metadata: dict[str, Any]
    created_at: datetime


class QueueOut(BaseModel):
    items: list[QueueItem]
    remaining: int = Field(description="images still waiting for a label from you")
