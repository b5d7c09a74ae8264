from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from skinguard_contracts.labels import Label
from skinguard_contracts.requests import WRITE_MODEL

from .tables import COMMENT_MAX_LENGTH


class FeedbackIn(BaseModel):
    model_config = WRITE_MODEL

    prediction_id: str = Field(min_length=1, max_length=64, description="from the prediction's answer")
    feedback_token: str = Field(min_length=1, max_length=64, description="from the prediction's answer")
    actual_label: Label = Field(description="the confirmed diagnosis (case is ignored)")
    comment: str | None = Field(None, max_length=COMMENT_MAX_LENGTH)

    @field_validator("actual_label", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class FeedbackOut(BaseModel):
    prediction_id: str
    actual_label: Label
    comment: str | None
    created_at: datetime
