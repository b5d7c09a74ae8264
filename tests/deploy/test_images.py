"""The service images, checked without a Docker engine.

- One Dockerfile (deploy/docker/Dockerfile) builds every image; docker-bake.json gives each
  image its build args: the workspace package and the script it runs. The Dockerfile is
  multi-stage, starts from a base pinned by digest and runs as a non-root user; each image's
  script is one its package declares, and compose builds the same args.
- Each image's Python dependency set is what the Dockerfile exports from uv.lock for its
  package; the set resolves, and the image's code imports with that set alone
  (import_check.py). The gateway, ingestion, annotation, web app and model-sync sets hold no
  TensorFlow.
- Files a package needs besides its modules (the web app's static/ pages) go into its wheel,
  which is what the image installs.
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


DOCKERFILE = "deploy/docker/Dockerfile"
BAKE_FILE = REPO / "docker-bake.json"
HTTP_SERVICES = {"ingestion", "annotation", "gateway", "webapp"}


@dataclass(frozen=True)
class Image:
    package: str  # the workspace member whose locked closure the image installs
    modules: tuple[str, ...] = ()  # imported as they are
    walk: tuple[str, ...] = ()  # every module below these is imported
    tensorflow: bool = False


IMAGES = {
    "ingestion": Image("skinguard-ingestion", walk=("skinguard_ingestion",)),
    "annotation": Image("skinguard-annotation", walk=("skinguard_annotation",)),
    "gateway": Image("skinguard-gateway", walk=("skinguard_gateway",)),
    "webapp": Image("skinguard-webapp", walk=("skinguard_webapp",)),
    "model-sync": Image("skinguard-model-sync", walk=("skinguard_model_sync",)),
    "training": Image("skinguard-training", walk=("skinguard_training",), tensorflow=True),
    "model-server": Image("skinguard-serving", walk=("skinguard_serving",), tensorflow=True),
}


def bake_args(name: str) -> dict[str, str]:
    targets = json.loads(BAKE_FILE.read_text())["target"]
    assert name in targets, f"docker-bake.json has no target {name}"
    target = targets[name]
    for parent in target.get("inherits", []):
        target = {**targets[parent], **target}
    assert target["dockerfile"] == DOCKERFILE and target["context"] == "."
    return target["args"]


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


def dockerfile() -> Dockerfile:
    return parse_dockerfile(REPO / DOCKERFILE)


def export_options(name: str) -> list[str]:
    """The ``uv export`` options of the Dockerfile's requirements export (with hashes), with the
    image's build args put in."""
    args = bake_args(name)
    for _, _, instructions in dockerfile().stages:
        for _, rest in instructions:
            for command in rest.split("&&"):
                words = shlex.split(command.split("|")[0])
                if words[:2] == ["uv", "export"] and "--no-emit-workspace" in words:
                    return [re.sub(r"\$\{?(\w+)\}?", lambda m: args[m.group(1)], word) for word in words[2:]]
    raise AssertionError("no `uv export ... --no-emit-workspace` in the Dockerfile")


def option(words: list[str], name: str) -> str | None:
    return words[words.index(name) + 1] if name in words else None


def project_scripts(package: str) -> dict[str, str]:
    for pyproject in [REPO / "protos" / "pyproject.toml", *REPO.glob("services/*/pyproject.toml")]:
        project = tomllib.loads(pyproject.read_text())["project"]
        if project["name"] == package:
            return project.get("scripts", {})
    pytest.fail(f"{package} is not a workspace member (no services/*/pyproject.toml names it)")


def test_the_dockerfile_is_multi_stage_pinned_and_non_root() -> None:
    parsed = dockerfile()
    aliases = {alias for _, alias, _ in parsed.stages if alias}
    assert len(parsed.stages) >= 2, "multi-stage: build tools stay out of the runtime image"
    for base, _, _ in parsed.stages:
        if base not in aliases:
            assert re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", base), f"base {base} not pinned by digest"
    runtime_base, _, runtime = parsed.stages[-1]
    assert runtime_base not in aliases, "the runtime stage starts from the bare base, not from a build stage"
    users = [rest for instruction, rest in runtime if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), "the runtime stage must switch to a non-root user"
    assert re.fullmatch(r"\d+(:\d+)?", users[-1]), "a numeric USER lets Kubernetes verify runAsNonRoot"


def test_the_entry_point_runs_the_images_script() -> None:
    runtime = dockerfile().stages[-1][2]
    entrypoints = [json.loads(rest) for instruction, rest in runtime if instruction == "ENTRYPOINT"]
    assert entrypoints == [["skinguard-entrypoint"]]
    script = (REPO / "deploy" / "docker" / "entrypoint.sh").read_text()
    assert 'exec "$SKINGUARD_SCRIPT" "$@"' in script
    assert any("SKINGUARD_SCRIPT=${SCRIPT}" in rest for instruction, rest in runtime if instruction == "ENV")


@pytest.mark.parametrize("name", IMAGES)
def test_each_image_runs_a_script_of_its_package(name: str) -> None:
    args = bake_args(name)
    assert option(export_options(name), "--package") == args["PACKAGE"] == IMAGES[name].package
    assert args["SCRIPT"] in project_scripts(args["PACKAGE"])
    # HTTP services serve by default (`migrate` is the other command); the rest run their one loop.
    assert args["DEFAULT_ARGS"] == ("serve" if name in HTTP_SERVICES else "")


def test_compose_builds_the_bake_files_images() -> None:
    import yaml

    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    built = {name: service["build"] for name, service in services.items() if "build" in service}
    packages = {bake_args(name)["PACKAGE"]: bake_args(name) for name in IMAGES}
    assert built, "compose builds the SkinGuard images"
    for name, build in built.items():
        assert build["dockerfile"] == DOCKERFILE, name
        assert build["args"] == packages[build["args"]["PACKAGE"]], f"{name} builds other args than docker-bake.json"


def export(name: str) -> tuple[set[str], list[str]]:
    """The image's third-party distributions and workspace members, as its Dockerfile exports them."""
    words = export_options(name)
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
    assert distributions and "./services/contracts" in members
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


def test_the_web_apps_static_files_go_into_its_wheel() -> None:
    """The image installs the web app as a wheel (not editable): hatchling puts every file below
    the package folder into it unless an exclude or a .gitignore pattern drops it."""
    package = REPO / "services" / "webapp" / "skinguard_webapp"
    static = package / "static"
    files = sorted(path.relative_to(REPO) for path in static.rglob("*") if path.is_file())
    assert (static / "index.html").is_file() and files, "the web app's pages live in skinguard_webapp/static/"
    wheel = tomllib.loads((package.parent / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["skinguard_webapp"]
    assert not {"exclude", "only-include", "sources"} & set(wheel), "static/ must stay in the wheel as it is"
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        input="\n".join(str(path) for path in files),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert ignored.returncode in (0, 1), ignored.stderr  # 1: nothing ignored
    assert not ignored.stdout.split(), f"git (and so hatchling) ignores {ignored.stdout.split()}"
