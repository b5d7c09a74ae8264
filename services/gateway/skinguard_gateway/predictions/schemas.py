from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from .risk import PredictedClass, RiskLevel


class Probabilities(BaseModel):
    benign: float
    malignant: float


class ImageQuality(BaseModel):
    resolution: tuple[int, int] = Field(description="[width, height] in pixels, orientation applied")
    file_size: int = Field(description="bytes of the image without its metadata")
    blur_score: float = Field(description="variance of the Laplacian of the grey image; low = blurry")
    brightness_score: float = Field(description="mean grey level, 0-255")
    contrast_score: float = Field(description="RMS contrast: standard deviation of grey, 0-255")


class ModelInfo(BaseModel):
    name: str
    version: int = Field(description="the model version that computed this answer")


class PredictionOut(BaseModel):
    predicted_class: PredictedClass
    confidence: float = Field(description="probability of the predicted class")
    probabilities: Probabilities
    risk_level: RiskLevel
    image_quality: ImageQuality
    model: ModelInfo
    cached: bool = Field(description="true when this version already classified these exact pixels")
    request_id: str = Field(description="this request's id, for tracing (X-Request-ID)")
    prediction_id: str = Field(description="made by the server; quote it when sending feedback (POST /feedback)")
    feedback_token: str = Field(description="proof that you received this prediction; feedback must quote it")
    notice: str


class Base64Image(BaseModel):
    image: str = Field(min_length=1, description="JPEG or PNG bytes, base64 (a data: URL prefix is accepted)")


class HealthOut(BaseModel):
    status: Literal["healthy", "degraded"] = Field(
        description="degraded: no model version is served, or the model server did not answer the last look"
    )
    model_loaded: bool
    model_version: int | None
    timestamp: datetime
