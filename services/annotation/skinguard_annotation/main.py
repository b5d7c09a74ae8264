"""``skinguard-annotation serve|migrate``: run the annotation service or apply its schema.

The schema references ingestion's ``training_images``: run ``skinguard-ingestion migrate`` first.
"""

from __future__ import annotations

import sys

from skinguard_chassis.service_cli import service_main

from .settings import AnnotationSettings


def main(argv: list[str] | None = None) -> int:
    from .app import create_app

    return service_main(
        prog="skinguard-annotation",
        description=__doc__,
        settings_factory=AnnotationSettings,
        migration_packages=("skinguard_chassis", "skinguard_annotation", "skinguard_registry"),
        create_app=create_app,
        address=lambda settings: (settings.annotation_host, settings.annotation_port),
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
