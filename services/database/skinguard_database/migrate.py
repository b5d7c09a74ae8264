"""Alembic, run programmatically: each package owns a migration history with its own version table.

A package's ``migrations/env.py`` is one call to ``run_env``; ``upgrade`` applies a history.
Migrations are a separate step (``<service> migrate``), never run at app start.
"""

from __future__ import annotations

import asyncio

from alembic import command, context
from alembic.config import Config
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from . import Base


def _config(package: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", f"{package}:migrations")
    config.attributes["database_url"] = database_url
    return config


def upgrade(package: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(_config(package, database_url), revision)


def run_env(version_table: str) -> None:
    """Body of a package's ``env.py``: run its migrations online on the async engine."""
    url = context.config.attributes["database_url"]

    def migrate(connection) -> None:
        context.configure(connection=connection, target_metadata=Base.metadata, version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())
