"""Image intake, lookup and erasure.

Integrity rules:
- Content-addressed: the object key is the SHA-256 of the stored bytes. Each uploader of the
  same bytes gets a record of their own (their metadata, lesion, patient, source; unique per
  hash and uploader) over the one shared object, so nothing about another uploader leaks and
  erasure is per uploader: the object goes with the last record that references it.
- Object first, row second, under a transaction-scoped advisory lock on the hash, so racing
  identical uploads serialise: one stores, the others find its row and report a duplicate.
- If the row cannot be committed, an object this call created is removed again; if S3 is down
  nothing is written. No row ever points to a missing object.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from skinguard_chassis.auth import Principal, require_patient_search, visible_images
from skinguard_chassis.sessions import after_commit, on_rollback
from skinguard_contracts.errors import NotFound
from skinguard_imaging import ImageLimits, PreparedImage, prepare_image
from skinguard_runtime.storage import ObjectStore

from .tables import TrainingImage, UploadIntent, object_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadFields:
    location: str | None = None
    size: str | None = None
    color: str | None = None
    notes: str | None = None
    lesion_id: str | None = None
    patient_id: str | None = None
    source: str | None = None

    low_resolution: bool = False

    def metadata(self) -> dict[str, object]:
        fields = {"location": self.location, "size": self.size, "color": self.color, "notes": self.notes}
        metadata: dict[str, object] = {name: value for name, value in fields.items() if value is not None}
        if self.low_resolution:
            metadata["flags"] = ["low_resolution"]
        return metadata


@dataclass(frozen=True)
class ImageFilters:
    source: str | None = None
    lesion_id: str | None = None
    patient_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    low_resolution: bool | None = None  # flagged low_resolution at import (True) or not (False)


def pseudonymise(patient_id: str, key: str) -> str:
    """A stable keyed hash: groups a patient's images without storing who the patient is."""
    return "p_" + hmac.new(key.encode(), patient_id.strip().encode(), hashlib.sha256).hexdigest()[:32]


async def lock_hash(session: AsyncSession, sha256: str) -> None:
    """Serialise writers of one content hash until the transaction ends."""
    lock_id = int.from_bytes(bytes.fromhex(sha256)[:8], "big", signed=True)
    await session.execute(select(func.pg_advisory_xact_lock(lock_id)))


async def _own_record(session: AsyncSession, sha256: str, user_id: uuid.UUID) -> TrainingImage | None:
    return await session.scalar(
        select(TrainingImage).where(TrainingImage.image_hash == sha256, TrainingImage.user_id == user_id)
    )


async def referenced(session: AsyncSession, sha256: str) -> bool:
    """Whether any record (any uploader's) still references the object of these bytes."""
    query = select(TrainingImage.id).where(TrainingImage.image_hash == sha256).limit(1)
    return await session.scalar(query) is not None


async def upload_image(
    session: AsyncSession,
    store: ObjectStore,
    *,
    principal: Principal,
    data: bytes,
    fields: UploadFields,
    limits: ImageLimits,
    bucket: str,
    pseudonym_key: str,
    low_resolution_limits: ImageLimits | None = None,
) -> tuple[TrainingImage, bool]:
    """Validate, sanitise and store an upload; returns the uploader's record and whether they
    had stored these bytes before (another uploader's record is never returned or revealed).

    ``low_resolution_limits`` (for trusted bulk imports) replace the minimum resolution; images
    below the normal minimum are then flagged ``low_resolution`` in their metadata.
    """
    prepared: PreparedImage = await asyncio.to_thread(prepare_image, data, low_resolution_limits or limits)
    if prepared.width < limits.min_width or prepared.height < limits.min_height:
        fields = dataclasses.replace(fields, low_resolution=True)
    await lock_hash(session, prepared.sha256)
    existing = await _own_record(session, prepared.sha256, principal.user_id)
    if existing is not None:
        return existing, True

    key = object_key(prepared.sha256)
    shared = await referenced(session, prepared.sha256)  # stored for another uploader: reuse it
    if not shared:
        await record_intent(session, prepared.sha256)
        after_commit(session, lambda: forget_intent(session, prepared.sha256))
        await store.put_if_absent(key, prepared.stored_bytes, prepared.media_type)
        # No row references the key, so the object is this upload's to remove if its row is not
        # committed — even when S3 said it existed: a retried PUT whose first attempt landed is
        # answered "precondition failed", so that answer cannot tell who wrote it. (A PUT that
        # failed outright is left to the orphan sweep: S3 is likely down for the removal too.)
        on_rollback(session, lambda: _settle_after_rollback(session, store, prepared.sha256))
    image = TrainingImage(
        user_id=principal.user_id,
        image_url=f"s3://{bucket}/{key}",
        image_hash=prepared.sha256,
        meta=fields.metadata(),
        format=prepared.format,
        width=prepared.width,
        height=prepared.height,
        byte_size=len(prepared.stored_bytes),
        blur_score=prepared.quality.blur_score,
        brightness_score=prepared.quality.brightness_score,
        contrast_score=prepared.quality.contrast_score,
        phash=prepared.phash,
        lesion_id=fields.lesion_id,
        patient_pseudonym=pseudonymise(fields.patient_id, pseudonym_key) if fields.patient_id else None,
        source=fields.source,
    )
    session.add(image)
    await session.flush()
    return image, False


async def record_intent(session: AsyncSession, sha256: str) -> None:
    """Commit, apart from the request's transaction, that this object is about to be written:
    if its row never commits, the orphan sweep finds the object by this record."""
    statement = insert(UploadIntent).values(image_hash=sha256)
    statement = statement.on_conflict_do_update(
        index_elements=[UploadIntent.image_hash], set_={"created_at": func.now()}
    )
    async with AsyncSession(session.bind) as own, own.begin():
        await own.execute(statement)


async def forget_intent(session: AsyncSession, sha256: str) -> None:
    """After the row committed; if this fails, the sweep settles the intent later (the upload stands)."""
    try:
        async with AsyncSession(session.bind) as own, own.begin():
            await own.execute(delete(UploadIntent).where(UploadIntent.image_hash == sha256))
    except Exception:
        logger.exception("could not remove an upload intent; the orphan sweep will", extra={"sha256": sha256})


async def settle_upload(session: AsyncSession, store: ObjectStore, sha256: str) -> bool:
    """In ``session``'s transaction, under the hash's lock: remove the object unless a row
    references it, and the upload intent. True when the object was removed."""
    await lock_hash(session, sha256)
    unreferenced = not await referenced(session, sha256)
    if unreferenced:
        await store.delete(object_key(sha256))
    await session.execute(delete(UploadIntent).where(UploadIntent.image_hash == sha256))
    return unreferenced


async def _settle_after_rollback(session: AsyncSession, store: ObjectStore, sha256: str) -> None:
    """The request's row was not committed: settle its upload now, in a transaction of its own
    (the request's lock ended with its rollback: another upload of these bytes may have
    committed a row since). If this fails, the orphan sweep settles it later."""
    try:
        async with AsyncSession(session.bind) as own, own.begin():
            await settle_upload(own, store, sha256)
    except Exception:
        logger.exception("could not remove an object whose row was not written", extra={"sha256": sha256})


async def get_image(session: AsyncSession, principal: Principal, image_id: uuid.UUID) -> TrainingImage:
    image = await session.scalar(
        visible_images(select(TrainingImage), principal, TrainingImage.user_id).where(TrainingImage.id == image_id)
    )
    if image is None:
        raise NotFound(f"no image with id {image_id}")
    return image


async def list_images(
    session: AsyncSession,
    principal: Principal,
    filters: ImageFilters,
    *,
    limit: int,
    offset: int,
    pseudonym_key: str,
) -> tuple[list[TrainingImage], int]:
    query = visible_images(select(TrainingImage), principal, TrainingImage.user_id)
    if filters.source is not None:
        query = query.where(TrainingImage.source == filters.source)
    if filters.lesion_id is not None:
        query = query.where(TrainingImage.lesion_id == filters.lesion_id)
    if filters.patient_id is not None:
        require_patient_search(principal)
        query = query.where(TrainingImage.patient_pseudonym == pseudonymise(filters.patient_id, pseudonym_key))
    if filters.created_after is not None:
        query = query.where(TrainingImage.created_at >= filters.created_after)
    if filters.created_before is not None:
        query = query.where(TrainingImage.created_at < filters.created_before)
    if filters.low_resolution is not None:
        flagged = TrainingImage.meta.contains({"flags": ["low_resolution"]})
        query = query.where(flagged if filters.low_resolution else ~flagged)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = await session.scalars(
        query.order_by(TrainingImage.created_at.desc(), TrainingImage.id).limit(limit).offset(offset)
    )
    return list(page), total or 0


async def erase_image(session: AsyncSession, store: ObjectStore, principal: Principal, image_id: uuid.UUID) -> None:
    """Delete the record and, unless another uploader's record references the same bytes, the
    object with it: if S3 refuses, the transaction rolls back and both remain."""
    image = await get_image(session, principal, image_id)
    await lock_hash(session, image.image_hash)
    await session.delete(image)
    await session.flush()
    if not await referenced(session, image.image_hash):
        await store.delete(image.object_key)
