"""Regenerate the Python package ``skinguard_protos`` from the vendored ``.proto`` files.

    .venv/bin/python protos/generate.py            # rewrite protos/skinguard_protos/...
    .venv/bin/python protos/generate.py --out DIR  # write DIR/skinguard_protos/... instead

grpcio-tools compiles every ``.proto`` under the vendored roots into ``*_pb2.py``, ``*_pb2.pyi``
and ``*_pb2_grpc.py``; two rewrites then make the output a self-contained package:

- imports of ``tensorflow``/``tensorflow_serving``/``xla`` modules, and the module names given to
  message classes, point inside ``skinguard_protos``;
- descriptors go into ``skinguard_protos._pool.DESCRIPTOR_POOL`` instead of protobuf's default pool,
  so these messages coexist with TensorFlow's and the official stubs' in one process
  (``protos/README.md`` explains why).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

PROTOS_DIR = Path(__file__).resolve().parent
PACKAGE = "skinguard_protos"
VENDORED_ROOTS = ("tensorflow", "tensorflow_serving", "xla")

_VENDORED_MODULE = re.compile(
    rf"^(from |import |_builder\.BuildTopDescriptorsAndMessages\(DESCRIPTOR, ')({'|'.join(VENDORED_ROOTS)})\b",
    re.MULTILINE,
)
_DEFAULT_POOL_IMPORT = "from google.protobuf import descriptor_pool as _descriptor_pool\n"
_DEFAULT_POOL = "_descriptor_pool.Default()"


def vendored_protos() -> list[str]:
    return sorted(
        str(path.relative_to(PROTOS_DIR)) for root in VENDORED_ROOTS for path in (PROTOS_DIR / root).rglob("*.proto")
    )


def _run_protoc(out_dir: Path) -> None:
    import grpc_tools
    from grpc_tools import protoc

    well_known_types = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTOS_DIR}",
        f"-I{well_known_types}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *vendored_protos(),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError("protoc failed; see the messages above")


def _rewrite(source: str, path: Path) -> str:
    source = _VENDORED_MODULE.sub(rf"\1{PACKAGE}.\2", source)
    if path.name.endswith("_pb2.py"):
        if source.count(_DEFAULT_POOL_IMPORT) != 1 or source.count(_DEFAULT_POOL) != 1:
            raise RuntimeError(f"{path}: protoc output no longer has the expected pool lines")
        source = source.replace(_DEFAULT_POOL_IMPORT, f"from {PACKAGE} import _pool\n")
        source = source.replace(_DEFAULT_POOL, "_pool.DESCRIPTOR_POOL")
    return source


def generate(out: Path) -> None:
    """Write the generated modules to ``out/skinguard_protos/<vendored roots>``."""
    package_dir = out / PACKAGE
    with tempfile.TemporaryDirectory() as raw:
        raw_dir = Path(raw)
        _run_protoc(raw_dir)
        for root in VENDORED_ROOTS:
            shutil.rmtree(package_dir / root, ignore_errors=True)
        for generated in sorted(raw_dir.rglob("*.py*")):
            if generated.name.endswith("_grpc.py") and "Servicer" not in generated.read_text():
                continue  # the gRPC plugin writes a file for every proto, even one without services
            relative = generated.relative_to(raw_dir)
            target = package_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_rewrite(generated.read_text(), relative))
    for root in VENDORED_ROOTS:
        for directory in [package_dir / root, *(package_dir / root).rglob("*")]:
            if directory.is_dir():
                (directory / "__init__.py").touch()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROTOS_DIR, help="directory to write skinguard_protos/ into")
    args = parser.parse_args(argv)
    generate(args.out)
    print(f"generated {len(vendored_protos())} protos into {args.out / PACKAGE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
