"""``skinguard-dev run``: the whole SkinGuard system on this machine, no Docker needed.

Starts PostgreSQL, Redis and S3 (SeaweedFS) from PyPI wheels, applies migrations, creates the
bucket and dev API keys, starts every service, waits for health, prints the URLs and stops
everything on Ctrl-C. State lives in the data directory and survives restarts.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from .privilege_files import write_privilege_files
from .stack import (
    SERVICES,
    Infrastructure,
    ensure_dev_keys,
    migrate,
    service_env,
    start_services,
)


def _port(variable: str, default: int) -> int:
    return int(os.environ.get(variable, default))


def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    infra = Infrastructure(
        data_dir,
        postgres_port=args.postgres_port,
        redis_port=args.redis_port,
        s3_port=args.s3_port,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())

    services = []
    try:
        print(f"starting PostgreSQL, Redis and S3 in {infra.data_dir} ...", flush=True)
        infra.start()
        env = service_env(infra, log_json=args.json_logs, serving_grpc_port=args.serving_grpc_port)
        print("applying migrations ...", flush=True)
        migrate(infra, env)
        keys = ensure_dev_keys(infra.data_dir / "dev-keys.json", env)
        ports = {spec.name: _port(spec.port_variable, spec.default_port) for spec in SERVICES if spec.port_variable}
        print("starting services ...", flush=True)
        services = start_services(infra, env, infra.data_dir / "logs", ports)
        _print_summary(infra, services, keys, env["SKINGUARD_SERVING_TARGET"])
        while not stop.wait(1.0):
            for service in services:
                if not service.process.running:
                    print(f"{service.spec.name} exited; see {service.process.log_path}", file=sys.stderr)
                    return 1
        return 0
    finally:
        print("\nstopping ...", flush=True)
        for service in reversed(services):
            service.stop()
        infra.stop()
        print("stopped.", flush=True)


def _print_summary(infra: Infrastructure, services, keys: dict[str, str], serving_target: str) -> None:
    print("\nSkinGuard is running.\n")
    for service in services:
        if not service.spec.http:
            print(f"  {service.spec.name:<11} (Celery on redis, queue training)")
        elif service.spec.name == "webapp":
            print(f"  {service.spec.name:<11} {service.url}   (open in a browser; sign in with a key below)")
        else:
            print(f"  {service.spec.name:<11} {service.url}   (API docs: {service.url}/docs)")
    print(f"  postgres    {infra.postgres.url}")
    print(f"  redis       {infra.redis.url}")
    print(f"  s3          {infra.s3.url}   (bucket skinguard)")
    print(f"  serving     grpc://{serving_target}   (TensorFlow Serving API, model skinguard)")
    print(f"\nDev API keys (also in {infra.data_dir / 'dev-keys.json'}):")
    for role, token in keys.items():
        print(f"  {role:<10} {token}")
    ingestion = next((s for s in services if s.spec.name == "ingestion"), None)
    if ingestion:
        print("\nTry:")
        print(
            f'  curl -H "Authorization: Bearer {keys["uploader"]}" -F image=@lesion.jpg '
            f"{ingestion.url}/api/images/upload"
        )
    print(f"\nLogs: {infra.data_dir / 'logs'}   Press Ctrl-C to stop.", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="skinguard-dev", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run the whole system until Ctrl-C")
    run_parser.add_argument("--data-dir", default=os.environ.get("SKINGUARD_DATA_DIR", ".data"))
    run_parser.add_argument("--postgres-port", type=int, default=_port("SKINGUARD_DEV_POSTGRES_PORT", 55432))
    run_parser.add_argument("--redis-port", type=int, default=_port("SKINGUARD_DEV_REDIS_PORT", 56379))
    run_parser.add_argument("--s3-port", type=int, default=_port("SKINGUARD_DEV_S3_PORT", 58333))
    run_parser.add_argument(
        "--serving-grpc-port", type=int, default=_port("SKINGUARD_SERVING_GRPC_PORT", 8500), help="model server gRPC"
    )
    run_parser.add_argument("--json-logs", action="store_true", help="services log JSON lines")
    privileges_parser = commands.add_parser(
        "privileges", help="write each service's database grants and S3 policies for compose and Kubernetes"
    )
    privileges_parser.add_argument("directory", type=Path, nargs="?", default=Path("deploy/privileges"))
    args = parser.parse_args(argv)
    if args.command == "privileges":
        for path in write_privilege_files(args.directory):
            print(path)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
