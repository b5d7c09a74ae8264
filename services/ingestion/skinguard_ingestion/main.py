"""``skinguard-ingestion serve|migrate``: run the ingestion service or apply its schema."""

from __future__ import annotations

import sys

from skinguard_chassis.service_cli import service_main

from .settings import IngestionSettings


def main(argv: list[str] | None = None) -> int:
    from .app import create_app

    return service_main(
        prog="skinguard-ingestion",
        description=__doc__,
        settings_factory=IngestionSettings,
        migration_packages=("skinguard_chassis", "skinguard_ingestion"),
        create_app=create_app,
        address=lambda settings: (settings.ingestion_host, settings.ingestion_port),
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
