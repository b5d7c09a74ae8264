"""The command line every HTTP service shares: ``serve`` runs it, ``migrate`` applies its schema."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TypeVar

from fastapi import FastAPI

from skinguard_database.migrate import upgrade
from skinguard_runtime.logging import configure_logging
from skinguard_runtime.settings import CommonSettings

SettingsT = TypeVar("SettingsT", bound=CommonSettings)


class MigrationSettings(CommonSettings):
    uses = frozenset({"database"})


def service_main(
    *,
    prog: str,
    description: str,
    settings_factory: Callable[[], SettingsT],
    migration_packages: Sequence[str],
    create_app: Callable[[SettingsT], FastAPI],
    address: Callable[[SettingsT], tuple[str, int]],
    argv: list[str] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("command", choices=["serve", "migrate"])
    args = parser.parse_args(argv)
    if args.command == "migrate":
        # Migrations need the database only: they are not handed (or checked for) other secrets.
        migration = MigrationSettings()
        configure_logging(migration.log_level, json_lines=migration.log_json)
        for package in migration_packages:
            upgrade(package, migration.database_url)
        return 0
    settings = settings_factory()
    configure_logging(settings.log_level, json_lines=settings.log_json)

    import uvicorn

    host, port = address(settings)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
    return 0
