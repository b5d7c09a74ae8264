from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Float, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from skinguard_database import Base


class PredictionLog(Base):
    """One answered prediction, for monitoring: no image, no caller, nothing about the person."""

    __tablename__ = "prediction_log"
    __table_args__ = (
        CheckConstraint("predicted_class IN ('benign', 'malignant')", name="predicted_class"),
        Index("ix_prediction_log_model_version", "model_name", "model_version"),
    )

    prediction_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # made by the server
    model_name: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[int] = mapped_column(Integer)
    predicted_class: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    probability_benign: Mapped[float] = mapped_column(Float)
    probability_malignant: Mapped[float] = mapped_column(Float)
    risk_level: Mapped[str] = mapped_column(String(16))
    cached: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
