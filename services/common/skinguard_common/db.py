"""Async SQLAlchemy: the declarative base, engine and the request-scoped session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(database_url, pool_size=pool_size, pool_pre_ping=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def attach_database(app: FastAPI, database_url: str, *, pool_size: int) -> AsyncIterator[AsyncEngine]:
    """For a service's lifespan: ``app.state.engine`` and ``app.state.sessionmaker``, disposed at the end."""
    engine = create_engine(database_url, pool_size=pool_size)
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


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: committed when the endpoint succeeds, rolled back otherwise."""
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session)]
