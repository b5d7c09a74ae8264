"""Servers for the integration tests, chosen by ``SKINGUARD_TEST_SERVERS``:

- ``embedded`` (default): PostgreSQL, Redis and SeaweedFS S3 from PyPI wheels on free ports.
- ``env``: servers given by ``SKINGUARD_TEST_DATABASE_URL``, ``SKINGUARD_TEST_REDIS_URL``,
  ``SKINGUARD_TEST_S3_ENDPOINT_URL``, ``SKINGUARD_TEST_S3_ACCESS_KEY``, ``SKINGUARD_TEST_S3_SECRET_KEY``
  (CI service containers); chosen automatically when ``SKINGUARD_TEST_DATABASE_URL`` is set.
- ``docker``: testcontainers (PostgreSQL, Redis, MinIO) where a Docker engine exists.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from skinguard_devstack.servers import SeaweedS3Server
from skinguard_devstack.stack import BUCKET, Infrastructure

MIGRATE_COMMANDS = (
    ("skinguard-ingestion", "migrate"),
    ("skinguard-annotation", "migrate"),
    ("skinguard-gateway", "migrate"),
)


@dataclass
class TestServers:
    env: dict[str, str]  # the owner's: the in-process services of the tests run with it
    s3: SeaweedS3Server | None = None  # only embedded servers can be stopped to test outages
    infra: Infrastructure | None = None  # embedded: each service's own role and S3 identity too
    _stop: list = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self._stop):
            stop()


def _embedded(tmp: Path) -> TestServers:
    infra = Infrastructure(tmp / "servers")
    infra.start()
    return TestServers(env=infra.env(), s3=infra.s3, infra=infra, _stop=[infra.stop])


def _from_env() -> TestServers:
    get = os.environ.__getitem__
    return TestServers(
        env={
            "SKINGUARD_DATABASE_URL": get("SKINGUARD_TEST_DATABASE_URL"),
            "SKINGUARD_REDIS_URL": os.environ.get("SKINGUARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
            "SKINGUARD_S3_ENDPOINT_URL": get("SKINGUARD_TEST_S3_ENDPOINT_URL"),
            "SKINGUARD_S3_ACCESS_KEY": get("SKINGUARD_TEST_S3_ACCESS_KEY"),
            "SKINGUARD_S3_SECRET_KEY": get("SKINGUARD_TEST_S3_SECRET_KEY"),
            "SKINGUARD_S3_BUCKET": os.environ.get("SKINGUARD_TEST_S3_BUCKET", "skinguard-test"),
            "SKINGUARD_PSEUDONYM_KEY": "test-pseudonym-key",
        }
    )


def _docker() -> TestServers:
    from testcontainers.minio import MinioContainer
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    postgres = PostgresContainer("postgres:16-alpine", driver="asyncpg").start()
    redis = RedisContainer("redis:7-alpine").start()
    minio = MinioContainer("minio/minio:RELEASE.2025-04-22T22-12-26Z").start()
    minio_config = minio.get_config()
    return TestServers(
        env={
            "SKINGUARD_DATABASE_URL": postgres.get_connection_url(),
            "SKINGUARD_REDIS_URL": f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0",
            "SKINGUARD_S3_ENDPOINT_URL": f"http://{minio_config['endpoint']}",
            "SKINGUARD_S3_ACCESS_KEY": minio_config["access_key"],
            "SKINGUARD_S3_SECRET_KEY": minio_config["secret_key"],
            "SKINGUARD_S3_BUCKET": BUCKET,
            "SKINGUARD_PSEUDONYM_KEY": "test-pseudonym-key",
        },
        _stop=[postgres.stop, redis.stop, minio.stop],
    )


def start_test_servers(tmp: Path) -> TestServers:
    default = "env" if os.environ.get("SKINGUARD_TEST_DATABASE_URL") else "embedded"
    mode = os.environ.get("SKINGUARD_TEST_SERVERS", default)
    servers = {"embedded": lambda: _embedded(tmp), "env": _from_env, "docker": _docker}[mode]()
    servers.env["SKINGUARD_ENV"] = "test"
    migrate(servers.env)
    if servers.infra is not None:
        servers.infra.grant_privileges()
    return servers


def migrate(env: dict[str, str]) -> None:
    """Apply every service's migrations through its real ``migrate`` command."""
    bin_dir = Path(sys.executable).parent
    for command, *args in MIGRATE_COMMANDS:
        subprocess.run([str(bin_dir / command), *args], env={**os.environ, **env}, check=True)
