"""The service images, checked without a Docker engine.

- Each Dockerfile is multi-stage, starts from a base pinned by digest, runs as a non-root user
  and starts an entry point its package declares.
- Each image's Python dependency set is what its Dockerfile exports from uv.lock; the set
  resolves, and the image's code imports with that set alone (import_check.py). The gateway,
  ingestion, annotation and model-sync sets hold no TensorFlow.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from .tools import REPO, run, uv_binary

# TensorFlow itself and what only it (or another deep-learning stack) brings in.
DEEP_LEARNING = re.compile(r"^(tensorflow.*|tf-keras|keras|tensorboard.*|jax|jaxlib|torch.*)$")


@dataclass(frozen=True)
class Image:
    dockerfile: str
    package: str  # the workspace member whose locked closure the image installs
    modules: tuple[str, ...] = ()  # imported as they are
    walk: tuple[str, ...] = ()  # every module below these is imported
    tensorflow: bool = False


IMAGES = {
    "ingestion": Image("services/ingestion/Dockerfile", "skinguard-ingestion", walk=("skinguard_ingestion",)),
    "annotation": Image("services/annotation/Dockerfile", "skinguard-annotation", walk=("skinguard_annotation",)),
    "gateway": Image("services/gateway/Dockerfile", "skinguard-gateway", walk=("skinguard_gateway",)),
    # Same package as the model server; its Dockerfile prunes TensorFlow, which sync never imports.
    "model-sync": Image(
        "services/serving/model-sync.Dockerfile", "skinguard-serving", modules=("skinguard_serving.sync_cli",)
    ),
    "training": Image(
        "services/training/Dockerfile", "skinguard-training", walk=("skinguard_training",), tensorflow=True
    ),
    "model-server": Image(
        "services/serving/Dockerfile", "skinguard-serving", walk=("skinguard_serving",), tensorflow=True
    ),
}


@dataclass
class Dockerfile:
    args: dict[str, str]  # ARG defaults declared before the first FROM
    stages: list[tuple[str, str | None, list[tuple[str, str]]]]  # (base, alias, instructions)


def parse_dockerfile(path: Path) -> Dockerfile:
    text = re.sub(r"\\\n", " ", path.read_text())  # join continuation lines
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    parsed = Dockerfile(args={}, stages=[])
    for line in lines:
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "ARG" and not parsed.stages:
            name, _, default = rest.partition("=")
            parsed.args[name] = default
        elif instruction == "FROM":
            match = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
            base = re.sub(r"\$\{(\w+)\}", lambda m: parsed.args[m.group(1)], match.group(1))
            parsed.stages.append((base, match.group(2), []))
        elif parsed.stages:
            parsed.stages[-1][2].append((instruction, rest))
    return parsed


def dockerfile_of(name: str) -> Dockerfile:
    path = REPO / IMAGES[name].dockerfile
    if not path.is_file():
        pytest.fail(f"{IMAGES[name].dockerfile} is missing")
    return parse_dockerfile(path)


def export_options(dockerfile: Dockerfile) -> list[str]:
    """The ``uv export`` options of the Dockerfile's requirements export (with hashes)."""
    for _, _, instructions in dockerfile.stages:
        for _, rest in instructions:
            for command in rest.split("&&"):
                words = shlex.split(command.split("|")[0])
                if words[:2] == ["uv", "export"] and "--no-emit-workspace" in words:
                    return words[2:]
    raise AssertionError("no `uv export ... --no-emit-workspace` in the Dockerfile")


def option(words: list[str], name: str) -> str | None:
    return words[words.index(name) + 1] if name in words else None


def project_scripts(package: str) -> dict[str, str]:
    for pyproject in [REPO / "protos" / "pyproject.toml", *REPO.glob("services/*/pyproject.toml")]:
        project = tomllib.loads(pyproject.read_text())["project"]
        if project["name"] == package:
            return project.get("scripts", {})
    pytest.fail(f"{package} is not a workspace member (no services/*/pyproject.toml names it)")


@pytest.mark.parametrize("name", IMAGES)
def test_dockerfile_is_multi_stage_pinned_and_non_root(name: str) -> None:
    dockerfile = dockerfile_of(name)
    aliases = {alias for _, alias, _ in dockerfile.stages if alias}
    assert len(dockerfile.stages) >= 2, "multi-stage: build tools stay out of the runtime image"
    for base, _, _ in dockerfile.stages:
        if base not in aliases:
            assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", base), f"base {base} not pinned by digest"
    runtime_base, _, runtime = dockerfile.stages[-1]
    assert runtime_base not in aliases, "the runtime stage starts from the bare base, not from a build stage"
    users = [rest for instruction, rest in runtime if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), "the runtime stage must switch to a non-root user"
    assert re.fullmatch(r"\d+(:\d+)?", users[-1]), "a numeric USER lets Kubernetes verify runAsNonRoot"


@pytest.mark.parametrize("name", IMAGES)
def test_entry_point_is_a_script_of_the_package(name: str) -> None:
    dockerfile = dockerfile_of(name)
    entrypoints = [json.loads(rest) for instruction, rest in dockerfile.stages[-1][2] if instruction == "ENTRYPOINT"]
    assert entrypoints, "no ENTRYPOINT"
    package = option(export_options(dockerfile), "--package")
    assert package == IMAGES[name].package
    assert entrypoints[-1][0] in project_scripts(package)


def export(name: str) -> tuple[set[str], list[str]]:
    """The image's third-party distributions and workspace members, as its Dockerfile exports them."""
    words = export_options(dockerfile_of(name))
    if "-o" in words:  # the Dockerfile writes a file; here the output is read
        del words[words.index("-o") : words.index("-o") + 2]
    words.remove("--no-emit-workspace")  # the members are wanted too, to know what to import
    result = run([uv_binary(), "export", *words, "--no-hashes", "--no-header", "--no-annotate", "--no-editable"])
    assert result.returncode == 0, f"uv export failed for the {name} image:\n{result.stderr}"
    lines = [line.split(";")[0].strip() for line in result.stdout.splitlines() if line.strip()]
    members = [line for line in lines if line.startswith("./")]
    distributions = {re.split(r"[=<>!~ ]", line, maxsplit=1)[0].lower() for line in lines if not line.startswith("./")}
    return distributions, members


@pytest.mark.parametrize("name", IMAGES)
def test_dependency_set_resolves_from_the_lock(name: str) -> None:
    distributions, members = export(name)
    assert distributions and "./services/common" in members
    deep_learning = sorted(d for d in distributions if DEEP_LEARNING.match(d))
    if IMAGES[name].tensorflow:
        assert "tensorflow-cpu" in distributions
    else:
        assert not deep_learning, f"the {name} image would install {deep_learning}"


def import_packages(members: list[str]) -> list[str]:
    """Import names of workspace members (their ``skinguard_*`` package folders)."""
    return [path.name for member in members for path in (REPO / member).glob("skinguard_*") if path.is_dir()]


@pytest.fixture(scope="module")
def import_reports() -> dict[str, dict | str]:
    """Runs import_check.py for every image at once (TensorFlow imports take seconds)."""

    def check(name: str) -> dict | str:
        try:
            distributions, members = export(name)
        except BaseException as error:  # reported by the test of that image
            return f"no dependency set: {error}"
        spec = {
            "distributions": sorted(distributions),
            "packages": import_packages(members),
            "modules": list(IMAGES[name].modules),
            "walk": list(IMAGES[name].walk),
        }
        script = Path(__file__).with_name("import_check.py")
        result = subprocess.run(
            [sys.executable, str(script), json.dumps(spec)], capture_output=True, text=True, timeout=120, cwd=REPO
        )
        if result.returncode != 0:
            return f"import_check.py failed:\n{result.stderr[-3000:]}"
        return json.loads(result.stdout.splitlines()[-1])

    with ThreadPoolExecutor(max_workers=len(IMAGES)) as pool:
        return dict(zip(IMAGES, pool.map(check, IMAGES), strict=True))


@pytest.mark.parametrize("name", IMAGES)
def test_image_code_imports_with_its_dependency_set_alone(name: str, import_reports: dict) -> None:
    report = import_reports[name]
    assert isinstance(report, dict), report
    assert not report["errors"], "\n".join(f"{module}:\n{error}" for module, error in report["errors"].items())
