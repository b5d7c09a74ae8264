from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Float, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from skinguard_database import Base

OBJECT_PREFIX = "images/"


def object_key(sha256: str) -> str:
    """Objects are content-addressed: the key is the SHA-256 of the stored bytes."""
    return f"{OBJECT_PREFIX}{sha256}"


class TrainingImage(Base):
    __tablename__ = "training_images"
    __table_args__ = (
        CheckConstraint("format IN ('jpeg', 'png')", name="format"),
        CheckConstraint("width > 0 AND height > 0 AND byte_size > 0", name="positive_size"),
        # One record per uploader of the same bytes; the content-addressed object is shared.
        UniqueConstraint("image_hash", "user_id", name="uq_training_images_image_hash_user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    image_url: Mapped[str] = mapped_column(Text)
    image_hash: Mapped[str] = mapped_column(Text, index=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)
    blur_score: Mapped[float] = mapped_column(Float)
    brightness_score: Mapped[float] = mapped_column(Float)
    contrast_score: Mapped[float] = mapped_column(Float)
    phash: Mapped[str] = mapped_column(String(16), index=True)
    lesion_id: Mapped[str | None] = mapped_column(String(64), index=True)
    patient_pseudonym: Mapped[str | None] = mapped_column(String(40), index=True)
    source: Mapped[str | None] = mapped_column(String(64), index=True)

    @property
    def object_key(self) -> str:
        return object_key(self.image_hash)

    @property
    def media_type(self) -> str:
        return f"image/{self.format}"


class UploadIntent(Base):
    """Recorded (and committed) before an object is written; removed once its row commits. One
    left behind names an object the orphan sweep checks (``orphans.py``)."""

    __tablename__ = "upload_intents"

    image_hash: Mapped[str] = mapped_column(Text, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
