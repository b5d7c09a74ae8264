"""``skinguard-webapp serve``: run the web app (it has no schema to migrate)."""

from __future__ import annotations

import argparse
import sys

from skinguard_runtime.logging import configure_logging

from .settings import WebAppSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="skinguard-webapp", description=__doc__)
    parser.add_argument("command", choices=["serve"])
    parser.parse_args(argv)
    settings = WebAppSettings()
    configure_logging(settings.log_level, json_lines=settings.log_json)

    import uvicorn

    from .app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.webapp_host,
        port=settings.webapp_port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
