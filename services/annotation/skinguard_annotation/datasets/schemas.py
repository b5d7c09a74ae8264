from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from skinguard_contracts.requests import WRITE_MODEL

from ..tables import Dataset


class Splits(BaseModel):
    model_config = WRITE_MODEL

    train: float = Field(0.8, gt=0, le=1)
    validation: float = Field(0.1, ge=0, lt=1)
    test: float = Field(0.1, ge=0, lt=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Splits:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split fractions must add up to 1, not {total:g}")
        return self

    def as_dict(self) -> dict[str, float]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


class Filters(BaseModel):
    model_config = WRITE_MODEL

    sources: list[str] | None = Field(None, min_length=1, description="only images from these sources")
    min_annotators: int = Field(1, ge=1, le=1000, description="only images with at least this many current labels")
    exclude_disputed: bool = Field(False, description="leave out images whose annotators disagree")


class DatasetIn(BaseModel):
    model_config = WRITE_MODEL

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = Field("", max_length=2000)
    splits: Splits = Field(default_factory=Splits)
    seed: int | None = Field(None, ge=0, lt=2**63, description="fixes the split; random (and recorded) if absent")
    filters: Filters = Field(default_factory=Filters)


class DatasetOut(BaseModel):
    id: uuid.UUID
    name: str
    version: int
    description: str
    image_count: int
    splits: dict[str, float]
    seed: int
    filters: dict[str, Any]
    leakage_report: dict[str, Any]
    manifest_url: str
    created_by: uuid.UUID
    created_at: datetime

    @classmethod
    def of(cls, dataset: Dataset) -> DatasetOut:
        return cls(
            id=dataset.id,
            name=dataset.name,
            version=dataset.version,
            description=dataset.description,
            image_count=dataset.image_count,
            splits={"train": dataset.train_split, "validation": dataset.val_split, "test": dataset.test_split},
            seed=dataset.seed,
            filters=dataset.filters,
            leakage_report=dataset.leakage_report,
            manifest_url=dataset.manifest_url,
            created_by=dataset.created_by,
            created_at=dataset.created_at,
        )


class DatasetPage(BaseModel):
    items: list[DatasetOut]
    total: int
    limit: int
    offset: int
