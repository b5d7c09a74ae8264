from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from .tables import TrainingImage


class ImageQuality(BaseModel):
    resolution: tuple[int, int] = Field(description="[width, height] in pixels, orientation applied")
    file_size: int = Field(description="bytes of the stored (metadata-stripped) image")
    blur_score: float = Field(description="variance of the Laplacian of the grey image; low = blurry")
    brightness_score: float = Field(description="mean grey level, 0-255")
    contrast_score: float = Field(description="RMS contrast: standard deviation of grey, 0-255")


class ImageMetadata(BaseModel):
    location: str | None = None
    size: str | None = None
    color: str | None = None
    notes: str | None = None
    flags: list[str] = Field(default_factory=list, description="e.g. low_resolution (accepted by an importer)")


class ImageOut(BaseModel):
    id: uuid.UUID
    sha256: str
    format: str
    width: int
    height: int
    quality: ImageQuality
    phash: str = Field(description="orientation- and colour-tolerant perceptual hash (64-bit hex)")
    metadata: ImageMetadata
    lesion_id: str | None
    patient_pseudonym: str | None = Field(description="keyed hash of the patient id; never the id")
    source: str | None
    uploaded_by: uuid.UUID | None
    created_at: datetime

    @classmethod
    def of(cls, image: TrainingImage, *, redacted: bool = False) -> ImageOut:
        """``redacted`` hides who uploaded it and their annotations of it (another owner's image)."""
        return cls(
            id=image.id,
            sha256=image.image_hash,
            format=image.format,
            width=image.width,
            height=image.height,
            quality=ImageQuality(
                resolution=(image.width, image.height),
                file_size=image.byte_size,
                blur_score=image.blur_score,
                brightness_score=image.brightness_score,
                contrast_score=image.contrast_score,
            ),
            phash=image.phash,
            metadata=ImageMetadata() if redacted else ImageMetadata(**image.meta),
            lesion_id=None if redacted else image.lesion_id,
            patient_pseudonym=None if redacted else image.patient_pseudonym,
            source=None if redacted else image.source,
            uploaded_by=None if redacted else image.user_id,
            created_at=image.created_at,
        )


class UploadOut(ImageOut):
    duplicate: bool = Field(description="true when these exact bytes were already stored")


class ImagePage(BaseModel):
    items: list[ImageOut]
    total: int
    limit: int
    offset: int


class PresignedUrl(BaseModel):
    url: str
    expires_in: int
