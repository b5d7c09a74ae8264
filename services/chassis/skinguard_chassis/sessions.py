"""A service's database in its lifespan, its readiness check and the request's unit of work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from skinguard_database import create_engine, create_sessionmaker

logger = logging.getLogger(__name__)


@asynccontextmanager
async def attach_database(
    app: FastAPI, database_url: str, *, pool_size: int, timeout_seconds: float = 5.0
) -> AsyncIterator[AsyncEngine]:
    """For a service's lifespan: ``app.state.engine`` and ``app.state.sessionmaker``, disposed at the end."""
    engine = create_engine(database_url, pool_size=pool_size, timeout_seconds=timeout_seconds)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


def table_ready(app: FastAPI, table: str) -> Callable[[], Awaitable[None]]:
    """A readiness check: the database answers and the service's schema is migrated."""

    async def check() -> None:
        async with app.state.engine.connect() as connection:
            await connection.execute(text(f"SELECT 1 FROM {table} LIMIT 1"))

    return check


Action = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "skinguard.after_commit"
_ON_ROLLBACK = "skinguard.on_rollback"


def after_commit(session: AsyncSession, action: Action) -> None:
    """Run ``action`` once the request's transaction is committed (a Celery send, a Redis flag):
    a rolled-back request starts nothing. Its errors become the response."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


def on_rollback(session: AsyncSession, action: Action) -> None:
    """Run ``action`` if the request's transaction is rolled back (removing an object written
    for a row that will not exist). Errors are logged, the original one answers."""
    session.info.setdefault(_ON_ROLLBACK, []).append(action)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work, the one place that commits: services only flush.

    Committed when the endpoint returns, before the response is sent (the dependency's
    ``scope="function"``), so a failed commit is the request's error; rolled back on any error,
    running the ``on_rollback`` actions; then the ``after_commit`` actions run in order.
    """
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            for undo in session.info.pop(_ON_ROLLBACK, []):
                try:
                    await asyncio.shield(undo())
                except Exception:
                    logger.exception("an undo action after a rollback failed")
            raise
        session.info.pop(_ON_ROLLBACK, None)
        for action in session.info.pop(_AFTER_COMMIT, []):
            await action()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
