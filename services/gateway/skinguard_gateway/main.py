"""``skinguard-gateway serve|migrate``: run the gateway or apply its schema (and the shared API keys)."""

from __future__ import annotations

import sys

from skinguard_chassis.service_cli import service_main

from .settings import GatewaySettings


def main(argv: list[str] | None = None) -> int:
    from .app import create_app

    return service_main(
        prog="skinguard-gateway",
        description=__doc__,
        settings_factory=GatewaySettings,
        migration_packages=("skinguard_chassis", "skinguard_gateway"),
        create_app=create_app,
        address=lambda settings: (settings.gateway_host, settings.gateway_port),
        argv=argv,
    )


if __name__ == "__main__":
    sys.exit(main())
