"""The benchmarks' system: servers and the named services in a temporary directory, each service
with its own database role and S3 identity, as ``make run`` starts them."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from skinguard_devstack.processes import free_port
from skinguard_devstack.stack import (
    PUBLIC_APIS,
    SERVICES,
    Infrastructure,
    ServiceProcess,
    ensure_dev_keys,
    migrate,
    service_env,
)


@dataclass
class Stack:
    infra: Infrastructure
    services: dict[str, ServiceProcess]
    uploader_token: str
    keys: dict[str, str]  # role -> dev API key


@contextmanager
def bench_stack(prefix: str, names: list[str], *, log_level: str = "WARNING", **env_overrides: str) -> Iterator[Stack]:
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        infra = Infrastructure(Path(tmp))
        started: dict[str, ServiceProcess] = {}
        try:
            infra.start()
            env = service_env(infra, log_json=True, serving_grpc_port=free_port())
            env.update({"SKINGUARD_LOG_LEVEL": log_level, **env_overrides})
            migrate(infra, env)
            keys = ensure_dev_keys(Path(tmp) / "keys.json", env)
            specs = {spec.name: spec for spec in SERVICES}
            for name in names:
                service = ServiceProcess(
                    specs[name], {**env, **infra.credentials_of(name)}, free_port(), Path(tmp) / "logs"
                )
                service.start()
                service.wait_ready(timeout=90)
                started[name] = service
                if name in PUBLIC_APIS:  # later services (the web app) call it
                    env[f"SKINGUARD_{name.upper()}_URL"] = service.url
            yield Stack(infra, started, keys["uploader"], keys)
        finally:
            for service in started.values():
                service.stop()
            infra.stop()
