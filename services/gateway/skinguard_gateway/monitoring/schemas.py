from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from skinguard_contracts.labels import Label


class ConfidenceBin(BaseModel):
    lower: float
    upper: float  # exclusive, except for the last bin
    count: int


class PredictionStats(BaseModel):
    count: int
    average_confidence: float | None = Field(description="mean probability of the predicted class")
    malignant_rate: float | None = Field(description="share of predictions that were Malignant")
    confidence_histogram: list[ConfidenceBin]


class VersionStats(PredictionStats):
    model_name: str
    model_version: int


class DayCount(BaseModel):
    day: date = Field(description="UTC day")
    model_name: str
    model_version: int
    count: int
    malignant_rate: float


class StatsOut(BaseModel):
    window_hours: int
    since: datetime
    overall: PredictionStats
    by_model_version: list[VersionStats]
    per_day: list[DayCount] = Field(description="predictions per UTC day and model version, oldest first")


class Performance(BaseModel):
    feedback_count: int
    accuracy: float | None
    precision: float | None = Field(description="of Malignant answers, the share confirmed malignant")
    recall: float | None = Field(description="of confirmed malignant lesions, the share answered Malignant")
    confusion_matrix: dict[Label, dict[Label, int]] = Field(description="counts by actual label, then predicted class")


class VersionPerformance(Performance):
    model_name: str
    model_version: int


class PerformanceOut(BaseModel):
    positive_class: Label = "malignant"
    overall: Performance
    by_model_version: list[VersionPerformance]
