"""Objects whose upload never committed: found and removed after a grace period.

An upload writes the object first and the row second. If the request fails in between (S3
answered too late, the database refused), the request removes the object it created; but a PUT
that S3 queued while it was unreachable may land after the client was told 503, leaving a photo
nobody can find or erase. The object's own timestamp is the record of the attempt: an
``images/`` object older than ``grace_seconds`` that no row references is such a leftover. Each
is re-checked and removed under the same per-hash lock uploads take, so a concurrent upload of
the same bytes either sees the object gone or keeps it with its row.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skinguard_contracts.keys import IMAGES_PREFIX
from skinguard_runtime.storage import ObjectStore

from .service import lock_hash, referenced

logger = logging.getLogger(__name__)


async def sweep_orphans(
    sessionmaker: async_sessionmaker[AsyncSession], store: ObjectStore, *, grace_seconds: float
) -> list[str]:
    """Remove ``images/`` objects older than the grace period that no row references; their keys."""
    cutoff = datetime.now(UTC) - timedelta(seconds=grace_seconds)
    removed = []
    for key, modified in await store.listing(IMAGES_PREFIX):
        sha256 = key.removeprefix(IMAGES_PREFIX)
        if modified > cutoff or len(sha256) != 64:
            continue
        async with sessionmaker() as session, session.begin():
            await lock_hash(session, sha256)
            if await referenced(session, sha256):
                continue
            await store.delete(key)
        removed.append(key)
        logger.warning("removed an object whose upload never committed", extra={"key": key})
    return removed


async def keep_sweeping(sessionmaker, store: ObjectStore, *, every_seconds: float, grace_seconds: float) -> None:
    """A lifespan task: sweep forever; a failed sweep (S3 or the database down) waits for the next."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await sweep_orphans(sessionmaker, store, grace_seconds=grace_seconds)
        except Exception:
            logger.exception("the orphan sweep failed; retrying at the next interval")
