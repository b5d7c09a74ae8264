"""``skinguard``: work with a running SkinGuard over its HTTP APIs.

skinguard import DIR    bulk-import a labelled image collection (folders per label or HAM10000)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path

from skinguard_datasets.layouts import LayoutError, discover

from .importer import Endpoints, Journal, run_import

DEV_KEYS = Path(".data/dev-keys.json")


def _api_key(given: str | None, role: str = "importer", variable: str = "SKINGUARD_API_KEY") -> str:
    if given:
        return given
    if os.environ.get(variable):
        return os.environ[variable]
    if DEV_KEYS.is_file():
        print(f"using the {role} key from {DEV_KEYS} (make run's dev keys)", file=sys.stderr)
        return json.loads(DEV_KEYS.read_text())[role]
    raise SystemExit(f"no API key: pass it or set {variable} (an {role} key)")


def _journal_path(directory: Path, ingestion_url: str) -> Path:
    digest = hashlib.sha256(f"{directory.resolve()}|{ingestion_url}".encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "skinguard" / f"import-{digest}.jsonl"


def import_command(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    try:
        collection = discover(directory, args.source)
    except LayoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.allow_low_resolution:
        collection = dataclasses.replace(collection, low_resolution=True)
    endpoints = Endpoints(args.ingestion_url.rstrip("/"), args.annotation_url.rstrip("/"), _api_key(args.api_key))
    journal = Journal(Path(args.state) if args.state else _journal_path(directory, endpoints.ingestion))
    print(
        f"{collection.layout} collection: {len(collection.items)} images, source {collection.source!r}; "
        f"journal {journal.path}",
        file=sys.stderr,
    )
    try:
        summary = asyncio.run(
            run_import(collection, endpoints, journal, concurrency=args.concurrency, progress=not args.quiet)
        )
    finally:
        journal.close()
    print("\n".join(summary.lines()))
    return 0


def demo_command(args: argparse.Namespace) -> int:
    from .demo import SMALL_MODEL, System, run_demo

    try:
        collection = discover(Path(args.directory), args.source)
    except LayoutError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    system = System(
        args.ingestion_url.rstrip("/"),
        args.annotation_url.rstrip("/"),
        args.gateway_url.rstrip("/"),
        _api_key(args.admin_key, "admin", "SKINGUARD_ADMIN_KEY"),
        _api_key(args.api_key),
    )
    config = {**SMALL_MODEL, "epochs": args.epochs, "model_type": args.model_type, "input_size": args.input_size}
    journal = Journal(Path(args.state) if args.state else _journal_path(Path(args.directory), system.ingestion))
    try:
        return run_demo(
            system, collection, journal, config=config, force_promote=args.force_promote, samples=args.samples
        )
    finally:
        journal.close()


def _add_service_urls(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ingestion-url", default=os.environ.get("SKINGUARD_INGESTION_URL", "http://127.0.0.1:8001"))
    parser.add_argument("--annotation-url", default=os.environ.get("SKINGUARD_ANNOTATION_URL", "http://127.0.0.1:8002"))
    parser.add_argument(
        "--api-key", help="importer or admin key (default: $SKINGUARD_API_KEY, then .data/dev-keys.json)"
    )
    parser.add_argument("--source", help="source recorded on every image (default: from DIR's name)")
    parser.add_argument("--state", help="resume journal (default: in ~/.cache/skinguard/)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="skinguard", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    imports = commands.add_parser("import", help="bulk-import DIR through the ingestion and annotation APIs")
    imports.add_argument("directory", metavar="DIR")
    imports.add_argument("--source", help="source recorded on every image (default: from DIR's name)")
    imports.add_argument("--ingestion-url", default=os.environ.get("SKINGUARD_INGESTION_URL", "http://127.0.0.1:8001"))
    imports.add_argument(
        "--annotation-url", default=os.environ.get("SKINGUARD_ANNOTATION_URL", "http://127.0.0.1:8002")
    )
    imports.add_argument(
        "--api-key", help="importer or admin key (default: $SKINGUARD_API_KEY, then .data/dev-keys.json)"
    )
    imports.add_argument("--concurrency", type=int, default=8)
    imports.add_argument("--state", help="resume journal (default: in ~/.cache/skinguard/)")
    imports.add_argument(
        "--allow-low-resolution",
        action="store_true",
        help="accept images below the service's minimum resolution (on for HAM10000)",
    )
    imports.add_argument("--quiet", action="store_true", help="no progress bar")
    demo = commands.add_parser("demo", help="import DIR, train, promote and classify through the gateway")
    demo.add_argument("directory", metavar="DIR")
    _add_service_urls(demo)
    demo.add_argument("--gateway-url", default=os.environ.get("SKINGUARD_GATEWAY_URL", "http://127.0.0.1:8000"))
    demo.add_argument("--admin-key", help="admin key (default: $SKINGUARD_ADMIN_KEY, then .data/dev-keys.json)")
    demo.add_argument("--model-type", default="CNN")
    demo.add_argument("--epochs", type=int, default=3)
    demo.add_argument("--input-size", type=int, default=64)
    demo.add_argument("--samples", type=int, default=5, help="images to classify at the end")
    demo.add_argument("--force-promote", action="store_true", help="serve the model even if the gate rejects it")
    args = parser.parse_args(argv)
    return import_command(args) if args.command == "import" else demo_command(args)


if __name__ == "__main__":
    sys.exit(main())
