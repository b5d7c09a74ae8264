"""The local system: servers, secrets, schema, bucket, dev API keys and the services themselves."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from skinguard_contracts.privileges import ACCESS, grants_sql, seaweedfs_actions

from .processes import Process, free_port
from .servers import DATABASE_NAME, PostgresServer, RedisServer, SeaweedS3Server

BUCKET = "skinguard"
DEV_ROLES = ("admin", "uploader", "annotator", "importer")


@dataclass(frozen=True)
class ServiceSpec:
    """How to migrate, start and probe one SkinGuard service."""

    name: str
    command: tuple[str, ...]
    port_variable: str | None = None  # None: no HTTP; ready once it has written its heartbeat file
    default_port: int = 0
    migrate: tuple[str, ...] | None = None
    health_path: str = "/readyz"

    @property
    def http(self) -> bool:
        return self.port_variable is not None


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "ingestion",
        ("skinguard-ingestion", "serve"),
        "SKINGUARD_INGESTION_PORT",
        8001,
        migrate=("skinguard-ingestion", "migrate"),
    ),
    ServiceSpec(
        "annotation",
        ("skinguard-annotation", "serve"),
        "SKINGUARD_ANNOTATION_PORT",
        8002,
        migrate=("skinguard-annotation", "migrate"),  # after ingestion: it references training_images
    ),
    ServiceSpec("training-worker", ("skinguard-worker",)),
    # The local stand-in for TensorFlow Serving (same gRPC API); HTTP here is its metrics port.
    ServiceSpec(
        "model-server", ("skinguard-model-server",), "SKINGUARD_SERVING_METRICS_PORT", 8501, health_path="/metrics"
    ),
    ServiceSpec("model-sync", ("skinguard-model-sync",)),
    ServiceSpec(
        "gateway",
        ("skinguard-gateway", "serve"),
        "SKINGUARD_GATEWAY_PORT",
        8000,
        migrate=("skinguard-gateway", "migrate"),
        health_path="/healthz",
    ),
    # The clinicians' web app: the services' public APIs (their URLs below) and Redis.
    ServiceSpec("webapp", ("skinguard-webapp", "serve"), "SKINGUARD_WEBAPP_PORT", 8003),
)
# Each is handed to every service as SKINGUARD_<NAME>_URL (the web app calls them).
PUBLIC_APIS = ("ingestion", "annotation", "gateway")

MODEL_NAME = "skinguard"


def _secret_names() -> dict[str, Callable[[], str]]:
    names: dict[str, Callable[[], str]] = {
        "s3_access_key": lambda: "sg" + secrets.token_hex(8),
        "s3_secret_key": lambda: secrets.token_urlsafe(30),
        "pseudonym_key": lambda: secrets.token_urlsafe(30),
        "feedback_key": lambda: secrets.token_urlsafe(30),
        "postgres_password": lambda: secrets.token_urlsafe(24),
    }
    for service, access in ACCESS.items():
        if access.database_role:
            names[f"{service}_database_password"] = lambda: secrets.token_urlsafe(24)
        if access.s3_identity:
            names[f"{service}_s3_access_key"] = lambda: "sg" + secrets.token_hex(8)
            names[f"{service}_s3_secret_key"] = lambda: secrets.token_urlsafe(30)
    return names


def _load_or_create_secrets(path: Path) -> dict[str, str]:
    """Secrets are made once per data directory and kept (pseudonyms must stay stable); one an
    older data directory lacks is added."""
    known = json.loads(path.read_text()) if path.exists() else {}
    missing = {name: make() for name, make in _secret_names().items() if name not in known}
    if missing:
        known.update(missing)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(known, indent=2))
        path.chmod(0o600)
    return known


@dataclass
class Infrastructure:
    """PostgreSQL, Redis and S3 for one data directory."""

    data_dir: Path
    postgres_port: int | None = None
    redis_port: int | None = None
    s3_port: int | None = None
    secrets: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        self.secrets = _load_or_create_secrets(self.data_dir / "secrets.json")
        self.postgres = PostgresServer(self.data_dir, self.postgres_port, self.secrets["postgres_password"])
        self.redis = RedisServer(self.data_dir, self.redis_port)
        identities = [
            {
                "name": access.s3_identity,
                "credentials": [
                    {
                        "accessKey": self.secrets[f"{service}_s3_access_key"],
                        "secretKey": self.secrets[f"{service}_s3_secret_key"],
                    }
                ],
                "actions": seaweedfs_actions(access, BUCKET),
            }
            for service, access in ACCESS.items()
            if access.s3_identity
        ]
        self.s3 = SeaweedS3Server(
            self.data_dir, self.secrets["s3_access_key"], self.secrets["s3_secret_key"], self.s3_port, identities
        )

    def start(self) -> None:
        """Start all three (and the bucket); on any failure stop whatever did start."""
        try:
            for server in (self.postgres, self.redis, self.s3):
                server.start()
            self.create_bucket()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for server in (self.s3, self.redis, self.postgres):
            server.stop()

    def grant_privileges(self) -> None:
        """Each service's database role with exactly its grants (after migrations)."""
        for service, access in ACCESS.items():
            if access.database_role:
                self.postgres.ensure_role(access.database_role, self.secrets[f"{service}_database_password"])
        self.postgres.execute(grants_sql(DATABASE_NAME))

    def credentials_of(self, service: str) -> dict[str, str]:
        """The database URL and S3 keys ``service`` runs with: its own role and identity."""
        access = ACCESS[service]
        credentials = {}
        if access.database_role:
            password = self.secrets[f"{service}_database_password"]
            credentials["SKINGUARD_DATABASE_URL"] = self.postgres.url_for(access.database_role, password)
        if access.s3_identity:
            credentials["SKINGUARD_S3_ACCESS_KEY"] = self.secrets[f"{service}_s3_access_key"]
            credentials["SKINGUARD_S3_SECRET_KEY"] = self.secrets[f"{service}_s3_secret_key"]
        return credentials

    def env(self) -> dict[str, str]:
        """The owner's environment: migrations, ``skinguard-keys``, the bucket's creation."""
        return {
            "SKINGUARD_DATABASE_URL": self.postgres.url,
            "SKINGUARD_REDIS_URL": self.redis.url,
            "SKINGUARD_S3_ENDPOINT_URL": self.s3.url,
            "SKINGUARD_S3_ACCESS_KEY": self.secrets["s3_access_key"],
            "SKINGUARD_S3_SECRET_KEY": self.secrets["s3_secret_key"],
            "SKINGUARD_S3_BUCKET": BUCKET,
            "SKINGUARD_PSEUDONYM_KEY": self.secrets["pseudonym_key"],
            "SKINGUARD_FEEDBACK_KEY": self.secrets["feedback_key"],
        }

    def create_bucket(self) -> None:
        client = self.s3.admin_client()
        existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
        if BUCKET not in existing:
            client.create_bucket(Bucket=BUCKET)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def migrate(infra: Infrastructure, env: dict[str, str]) -> None:
    """Every service's migrations (as the owner, in order), then each service's role and grants."""
    for spec in SERVICES:
        if spec.migrate:
            subprocess.run([_bin(spec.migrate[0]), *spec.migrate[1:]], env=env, check=True)
    infra.grant_privileges()


def ensure_dev_keys(path: Path, env: dict[str, str]) -> dict[str, str]:
    """One API key per role for local use, created on first run and kept in the data dir."""
    if path.exists():
        known = json.loads(path.read_text())
        return {role: token for role, token in known.items() if role in DEV_ROLES}
    keys = {}
    for role in DEV_ROLES:
        result = subprocess.run(
            [_bin("skinguard-keys"), "create", "--name", f"dev-{role}", "--role", role],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        keys[role] = next(line.split()[-1] for line in result.stdout.splitlines() if line.startswith("token:"))
    path.write_text(json.dumps(keys, indent=2))
    path.chmod(0o600)
    return keys


class ServiceProcess:
    def __init__(self, spec: ServiceSpec, env: dict[str, str], port: int, logs: Path) -> None:
        self.spec = spec
        self.port = port
        state = logs.parent
        self.heartbeat_file = state / "run" / f"{spec.name}.alive"
        self.heartbeat_file.parent.mkdir(parents=True, exist_ok=True)
        self.heartbeat_file.unlink(missing_ok=True)
        own_env: dict[str, str] = (
            {str(spec.port_variable): str(port)}
            if spec.http
            else {
                "SKINGUARD_HEARTBEAT_FILE": str(self.heartbeat_file),
                "SKINGUARD_WORK_DIR": str(state / "training"),
                "SKINGUARD_IMAGE_CACHE_DIR": str(state / "training" / "image-cache"),
            }
        )
        self.process = Process(
            spec.name, [_bin(spec.command[0]), *spec.command[1:]], logs / f"{spec.name}.log", env={**env, **own_env}
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process.start()

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if not self.spec.http:
                return self.heartbeat_file.exists()
            with urllib.request.urlopen(self.url + self.spec.health_path, timeout=2) as response:
                return response.status == 200

        self.process.wait_until(ready, timeout)

    def stop(self) -> None:
        self.process.stop()


def service_env(infra: Infrastructure, log_json: bool, serving_grpc_port: int) -> dict[str, str]:
    models = infra.data_dir / "models"
    models.mkdir(parents=True, exist_ok=True)
    serving = f"127.0.0.1:{serving_grpc_port}"
    return {
        **os.environ,
        **infra.env(),
        "SKINGUARD_ENV": os.environ.get("SKINGUARD_ENV", "dev"),
        "SKINGUARD_LOG_JSON": str(log_json).lower(),
        # Serving: model-sync fills the repository from S3; the model server and gateway follow.
        "SKINGUARD_MODEL_NAME": MODEL_NAME,
        "SKINGUARD_MODEL_REPOSITORY": str(models),
        "SKINGUARD_MODEL_CONFIG_FILE": str(models / "models.config"),
        "SKINGUARD_MODEL_CONFIG_FILE_POLL_WAIT_SECONDS": "2",
        "SKINGUARD_SYNC_INTERVAL_SECONDS": "5",
        "SKINGUARD_SERVING_HOST": "127.0.0.1",
        "SKINGUARD_SERVING_GRPC_PORT": str(serving_grpc_port),
        "SKINGUARD_SYNC_SERVING_ADDRESS": serving,
        "SKINGUARD_SERVING_TARGET": serving,
    }


def start_services(
    infra: Infrastructure, env: dict[str, str], logs: Path, ports: dict[str, int]
) -> list[ServiceProcess]:
    """Every service, each with its own database role and S3 identity."""
    chosen = {spec.name: ports.get(spec.name) or free_port() for spec in SERVICES}
    urls = {f"SKINGUARD_{name.upper()}_URL": f"http://127.0.0.1:{chosen[name]}" for name in PUBLIC_APIS}
    started = [
        ServiceProcess(spec, {**env, **urls, **infra.credentials_of(spec.name)}, chosen[spec.name], logs)
        for spec in SERVICES
    ]
    for service in started:
        service.start()
    deadline = time.monotonic() + 90
    for service in started:
        service.wait_ready(timeout=max(1.0, deadline - time.monotonic()))
    return started
