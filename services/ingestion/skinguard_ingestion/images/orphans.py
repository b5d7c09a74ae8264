"""Objects whose upload never committed: found by their intent record and removed.

An upload commits an intent (``upload_intents``) before it writes the object, and removes it
once its row commits. If the request fails in between (S3 answered too late, the database
refused), the request settles its intent at once (``settle_upload``); but a PUT that S3 queued while it was
unreachable may land after the client was told 503, leaving a photo nobody can find or erase.
An intent older than ``grace_seconds`` names such a candidate: under the same per-hash lock
uploads take, its object is removed unless a row references it, and the intent goes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skinguard_runtime.storage import ObjectStore

from .service import settle_upload
from .tables import UploadIntent, object_key

logger = logging.getLogger(__name__)


async def sweep_orphans(
    sessionmaker: async_sessionmaker[AsyncSession], store: ObjectStore, *, grace_seconds: float
) -> list[str]:
    """Settle every intent older than the grace period; the keys of the objects removed."""
    cutoff = datetime.now(UTC) - timedelta(seconds=grace_seconds)
    async with sessionmaker() as session:
        stale = list(await session.scalars(select(UploadIntent.image_hash).where(UploadIntent.created_at <= cutoff)))
    removed = []
    for sha256 in stale:
        async with sessionmaker() as session, session.begin():
            if await settle_upload(session, store, sha256):
                removed.append(object_key(sha256))
                logger.warning("removed an object whose upload never committed", extra={"key": object_key(sha256)})
    return removed


async def keep_sweeping(sessionmaker, store: ObjectStore, *, every_seconds: float, grace_seconds: float) -> None:
    """A lifespan task: sweep forever; a failed sweep (S3 or the database down) waits for the next."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await sweep_orphans(sessionmaker, store, grace_seconds=grace_seconds)
        except Exception:
            logger.exception("the orphan sweep failed; retrying at the next interval")
