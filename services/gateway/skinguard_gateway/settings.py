from __future__ import annotations

import json
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from skinguard_imaging.settings import ImageIntakeSettings

from .serving.client import ModelRef
from .usability import UsabilityThresholds


class GatewaySettings(ImageIntakeSettings):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # Signs each prediction's feedback token (feedback.tokens); rotating it voids unanswered tokens.
    feedback_key: SecretStr = SecretStr("dev-feedback-key")

    # TensorFlow Serving (or skinguard-model-server): where, which model, which version.
    serving_target: str = "127.0.0.1:8500"
    model_name: str = "skinguard"
    model_version_label: str = "stable"
    model_version: int | None = Field(None, ge=1, description="pin this version instead of following the label")
    serving_deadline_seconds: float = Field(5.0, gt=0)
    serving_max_message_bytes: int = Field(64 * 1024 * 1024, ge=4 * 1024 * 1024)
    # How often the gateway asks which version the label points to (also asked on NOT_FOUND).
    model_refresh_seconds: float = Field(10.0, gt=0)

    cache_ttl_seconds: int = Field(24 * 3600, ge=1)
    # Redis is an optimisation here: a slow or absent Redis must not hold up predictions.
    redis_timeout_seconds: float = Field(0.25, gt=0)
    rate_limit_per_minute: int = Field(60, ge=0, description="predictions and feedback per client IP; 0: no limit")
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Unusable photos are refused with a reason; 0 turns a check off. The kaggle-mvb and
    # HAM10000 photos all score blur >= 5.6 and brightness 58-230.
    min_blur_score: float = Field(1.0, ge=0)
    min_brightness: float = Field(25.0, ge=0, le=255)
    max_brightness: float = Field(240.0, ge=0, le=255)
    # Refuse pictures that are not of skin (a small colour classifier: skinguard_imaging.skin_photo).
    refuse_non_skin: bool = True

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins_list(cls, value: object) -> object:
        """A JSON list or comma-separated origins: ``https://app.example,https://www.example``."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and (not origin.startswith(("http://", "https://")) or origin.count("/") > 2):
                raise ValueError(f"a CORS origin is scheme://host[:port] without a path; got {origin!r}")
        return origins

    @property
    def model_ref(self) -> ModelRef:
        return ModelRef(name=self.model_name, version=self.model_version, label=self.model_version_label)

    @property
    def usability(self) -> UsabilityThresholds:
        return UsabilityThresholds(
            min_blur_score=self.min_blur_score,
            min_brightness=self.min_brightness,
            max_brightness=self.max_brightness,
            refuse_non_skin=self.refuse_non_skin,
        )

    uses = frozenset({"database", "s3", "redis"})

    def _secrets(self) -> dict[str, str]:
        return {**super()._secrets(), "feedback_key": self.feedback_key.get_secret_value()}
