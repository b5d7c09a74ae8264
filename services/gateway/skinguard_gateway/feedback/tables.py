from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from skinguard_database import Base

COMMENT_MAX_LENGTH = 1000


class PredictionFeedback(Base):
    """The confirmed diagnosis for one prediction: at most one per prediction."""

    __tablename__ = "prediction_feedback"
    __table_args__ = (
        CheckConstraint("actual_label IN ('benign', 'malignant')", name="actual_label"),
        CheckConstraint(f"char_length(comment) <= {COMMENT_MAX_LENGTH}", name="comment_length"),
    )

    prediction_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("prediction_log.prediction_id", ondelete="CASCADE"), primary_key=True
    )
    actual_label: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
