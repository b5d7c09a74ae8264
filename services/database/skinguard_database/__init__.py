"""The database layer every process shares: the declarative base with one naming convention,
engines (async for services, sync for the training worker) and the migration runner (``migrate``)."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlalchemy.engine import create_engine as create_sync_engine
from sqlalchemy.exc import DBAPIError
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


def create_engine(database_url: str, *, pool_size: int = 10, timeout_seconds: float = 5.0) -> AsyncEngine:
    """Every wait is bounded, so a database outage answers 503 in seconds instead of hanging for
    its length: connecting and waiting for a pooled connection by ``timeout_seconds``, waiting
    for any answer by twice that (asyncpg's ``command_timeout``), and a statement's own run by
    six times that on the server (``statement_timeout``, for the few heavy ones)."""
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        pool_pre_ping=True,
        pool_timeout=timeout_seconds,
        connect_args={
            "timeout": timeout_seconds,
            "command_timeout": timeout_seconds * 2,
            "server_settings": {"statement_timeout": str(int(timeout_seconds * 6 * 1000))},
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def sync_engine(database_url: str, *, pool_size: int = 2) -> Engine:
    """A psycopg engine for synchronous code (the training worker's child processes)."""
    return create_sync_engine(database_url.replace("+asyncpg", "+psycopg"), pool_pre_ping=True, pool_size=pool_size)


_CONNECTION_LOSS = ("connection was closed", "connection is closed", "terminating connection", "connection reset")


def connection_lost(error: DBAPIError) -> bool:
    """The statement failed because its connection went away (a server restart, a terminated
    backend), not because of the statement: safe to answer 503, and to retry a read."""
    return bool(error.connection_invalidated) or any(sign in str(error.orig).lower() for sign in _CONNECTION_LOSS)
