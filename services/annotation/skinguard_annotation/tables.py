"""Tables of the annotation service, and its read-only view of ingestion's ``training_images``.

The view has its own ``MetaData``: the table belongs to ingestion (its migrations, its model),
and this service only reads the columns it needs — the database schema is the contract.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Integer, MetaData, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from skinguard_contracts.keys import image_key
from skinguard_database import Base


class IngestionView(DeclarativeBase):
    metadata = MetaData()


class ImageView(IngestionView):
    """What this service reads of an ingested image (never writes)."""

    __tablename__ = "training_images"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID]
    image_url: Mapped[str] = mapped_column(Text)
    image_hash: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int]
    height: Mapped[int]
    phash: Mapped[str] = mapped_column(String(16))
    lesion_id: Mapped[str | None] = mapped_column(String(64))
    patient_pseudonym: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(64))

    @property
    def object_key(self) -> str:
        return image_key(self.image_hash)


class Annotation(Base):
    __tablename__ = "image_annotations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    image_id: Mapped[uuid.UUID] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(String(20))
    confidence: Mapped[float | None] = mapped_column(Float)
    annotator_id: Mapped[uuid.UUID] = mapped_column(index=True)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Adjudication(Base):
    """An admin's decision on an image's label; it overrides the annotators' majority. A new
    decision supersedes the previous one, kept as history."""

    __tablename__ = "label_adjudications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    image_id: Mapped[uuid.UUID] = mapped_column(index=True)
    label: Mapped[str] = mapped_column(String(20))
    adjudicator_id: Mapped[uuid.UUID]
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Dataset(Base):
    __tablename__ = "training_datasets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    image_count: Mapped[int] = mapped_column(Integer)
    train_split: Mapped[float] = mapped_column(Float)
    val_split: Mapped[float] = mapped_column(Float)
    test_split: Mapped[float] = mapped_column(Float)
    seed: Mapped[int] = mapped_column(BigInteger)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    leakage_report: Mapped[dict[str, Any]] = mapped_column(JSONB)
    manifest_url: Mapped[str] = mapped_column(Text)
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DatasetImage(Base):
    __tablename__ = "dataset_images"

    dataset_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_datasets.id", ondelete="CASCADE"), primary_key=True
    )
    image_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(20))
    split: Mapped[str] = mapped_column(String(10))
    group_key: Mapped[str] = mapped_column(String(80))
    label_metadata: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
