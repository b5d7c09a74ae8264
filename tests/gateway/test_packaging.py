"""The gateway's dependency closure and imports hold no TensorFlow."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UV = REPO / ".tools" / "bin" / "uv"
PLAIN_REQUIREMENTS = ("--no-hashes", "--no-header", "--no-annotate", "--no-editable")
DEEP_LEARNING = re.compile(r"^(tensorflow|tf-keras|keras|tensorboard|jax|torch)", re.IGNORECASE)


def test_the_locked_dependency_closure_has_no_tensorflow() -> None:
    exported = subprocess.run(
        [str(UV), "export", "--frozen", "--no-dev", "--package", "skinguard-gateway", *PLAIN_REQUIREMENTS],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    requirements = [line.strip() for line in exported.splitlines() if line.strip()]
    assert [line for line in requirements if DEEP_LEARNING.match(line)] == []
    names = {re.split(r"[=<>; ]", line, maxsplit=1)[0].lower() for line in requirements}
    assert {"grpcio", "protobuf", "redis", "uvicorn", "python-multipart"} <= names
    assert {"./protos", "./services/chassis", "./services/gateway"} <= {n for n in names if n.startswith("./")}


def test_importing_every_gateway_module_loads_no_tensorflow() -> None:
    script = """
import importlib, pkgutil, sys
import skinguard_gateway
for module in pkgutil.walk_packages(skinguard_gateway.__path__, "skinguard_gateway."):
    if ".migrations" not in module.name:
        importlib.import_module(module.name)
from skinguard_gateway.app import create_app
create_app()
print(sorted(name for name in sys.modules if name.split(".")[0] in ("tensorflow", "keras", "tensorboard")))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"
