"""``skinguard-annotation``: ``serve`` runs the HTTP service, ``migrate`` applies its schema.

The schema references ingestion's ``training_images``: run ``skinguard-ingestion migrate`` first.
"""

from __future__ import annotations

import argparse
import sys

from skinguard_common.logging import configure_logging
from skinguard_common.migrate import upgrade

from .settings import AnnotationSettings

MIGRATION_PACKAGES = ("skinguard_common", "skinguard_annotation")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="skinguard-annotation", description=__doc__)
    parser.add_argument("command", choices=["serve", "migrate"])
    args = parser.parse_args(argv)
    settings = AnnotationSettings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    if args.command == "migrate":
        for package in MIGRATION_PACKAGES:
            upgrade(package, settings.database_url)
        return 0

    import uvicorn

    from .app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.annotation_host,
        port=settings.annotation_port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
