"""The committed generated package matches the vendored protos and stands on its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROTOS = Path(__file__).parents[2] / "protos"
GENERATED_ROOTS = ("tensorflow", "tensorflow_serving", "xla")


def _generated_files(package: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(package)): path.read_bytes()
        for root in GENERATED_ROOTS
        for path in sorted((package / root).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_generated_code_is_up_to_date(tmp_path):
    subprocess.run([sys.executable, str(PROTOS / "generate.py"), "--out", str(tmp_path)], check=True, timeout=60)

    fresh = _generated_files(tmp_path / "skinguard_protos")
    committed = _generated_files(PROTOS / "skinguard_protos")
    assert sorted(fresh) == sorted(committed), "run protos/generate.py and commit the result"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale generated files {stale}: run protos/generate.py"


def test_every_module_imports_without_tensorflow():
    modules = [
        "skinguard_protos." + str(path.relative_to(PROTOS / "skinguard_protos").with_suffix("")).replace("/", ".")
        for path in sorted((PROTOS / "skinguard_protos").rglob("*.py"))
        if path.name != "__init__.py"
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "assert 'tensorflow' not in sys.modules, 'skinguard_protos pulled in TensorFlow'\n"
        "print(len(sys.modules))\n"
    )

    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
