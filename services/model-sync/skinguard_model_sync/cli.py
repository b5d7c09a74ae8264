"""``skinguard-model-sync``: keep the model repository in step with the registry in S3.

Runs a sync cycle every ``SKINGUARD_SYNC_INTERVAL_SECONDS`` until SIGTERM/SIGINT, or once with
``--once`` (exit status 1 if a model failed). The contract is in services/serving/README.md.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from skinguard_runtime.logging import configure_logging

from .settings import SyncSettings
from .sync import ModelSync

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="skinguard-model-sync", description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run one cycle and exit")
    parser.add_argument("--model", action="append", dest="models", help="model to sync (repeatable)")
    args = parser.parse_args(argv)
    settings = SyncSettings(**({"sync_models": args.models} if args.models else {}))
    configure_logging(settings.log_level, json_lines=settings.log_json)
    sync = ModelSync(settings)
    if args.once:
        return 0 if len(sync.sync_all()) == len(settings.models_to_sync) else 1

    stop_requested = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: stop_requested.set())
    while not stop_requested.is_set():
        try:
            sync.sync_all()
        except Exception:  # S3 or disk trouble: report it and try again next cycle
            log.exception("sync cycle failed")
        if settings.heartbeat_file:
            settings.heartbeat_file.touch()
        stop_requested.wait(settings.sync_interval_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
