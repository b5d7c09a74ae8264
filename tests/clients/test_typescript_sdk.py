"""The TypeScript SDK (clients/typescript): its unit tests, its generated types and preprocessing
against the Python code they follow, and its live tests against the whole system.

Node and npm are required (``make test`` installs the SDK's packages with ``npm ci``): a
missing tool fails these tests, it never skips them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from skinguard_cli.demo import System, freeze_dataset, start_training, wait_for_job, wait_until_served
from skinguard_cli.importer import Endpoints, Journal, run_import
from skinguard_datasets.layouts import discover
from skinguard_gateway.app import create_app
from support import images
from support.running_system import OPEN_GATE, TINY_TRAINING, start_system

from .preprocess_vectors import vectors

SDK = Path(__file__).resolve().parents[2] / "clients" / "typescript"
# Variables that switch parts of the SDK's tests on; unit runs get none of them by accident.
SDK_VARIABLES = ("SKINGUARD_GATEWAY_URL", "SKINGUARD_OPENAPI_JSON", "SKINGUARD_PREPROCESS_VECTORS")
NPM_TIMEOUT_SECONDS = 600


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: the TypeScript SDK's tests need Node.js 20+ and npm")
    return path


def run(command: list[str], *, env: dict[str, str] | None = None, timeout: float = NPM_TIMEOUT_SECONDS) -> str:
    """Run in clients/typescript; fail with the output unless it exits 0. Returns the output."""
    base = {key: value for key, value in os.environ.items() if key not in SDK_VARIABLES}
    done = subprocess.run(
        command,
        cwd=SDK,
        env={**base, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-20000:]}")
    return done.stdout


@pytest.fixture(scope="module")
def sdk() -> Path:
    """clients/typescript with its packages installed and its tests compiled."""
    tool("node")
    npm = tool("npm")
    if not (SDK / "node_modules" / ".package-lock.json").exists():
        run([npm, "ci", "--no-audit", "--no-fund"])
    run([npm, "run", "pretest"])
    return SDK


def node_test_summary(output: str) -> dict[str, int]:
    """The counts in node's test runner's closing lines (``ℹ pass 80``)."""
    counts = {}
    for line in output.splitlines():
        parts = line.strip().removeprefix("ℹ").removeprefix("#").split()
        if len(parts) == 2 and parts[0] in ("tests", "pass", "fail", "skipped", "cancelled") and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def test_unit_tests_pass(sdk: Path) -> None:
    output = run([tool("npm"), "test"])
    summary = node_test_summary(output)
    assert summary.get("fail") == 0 and summary.get("pass", 0) > 0, output[-5000:]


def test_generated_types_are_current(sdk: Path, tmp_path: Path) -> None:
    """src/generated/gateway.ts is what `npm run generate` makes from the gateway's OpenAPI now."""
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(create_app().openapi()))
    run([tool("node"), "scripts/generate.mjs", "--check", str(document)])
    output = run(
        [tool("node"), "--test", "--test-reporter=spec", "build/test/generated.test.js"],
        env={"SKINGUARD_OPENAPI_JSON": str(document)},
    )
    assert node_test_summary(output) == {"tests": 1, "pass": 1, "fail": 0, "cancelled": 0, "skipped": 0}, output


def test_preprocessing_matches_the_python_code_now(sdk: Path, tmp_path: Path) -> None:
    """The SDK's toModelInput against to_model_input with the OpenCV and Pillow installed now
    (the committed vectors only record the versions they were made with)."""
    fresh = tmp_path / "vectors.json"
    fresh.write_text(json.dumps(vectors()))
    output = run(
        [tool("node"), "--test", "--test-reporter=spec", "build/test/preprocess.test.js"],
        env={"SKINGUARD_PREPROCESS_VECTORS": str(fresh)},
    )
    summary = node_test_summary(output)
    assert summary.get("fail") == 0 and summary.get("pass", 0) >= len(json.loads(fresh.read_text())["cases"]), output


def training_photo(seed: int, malignant: bool) -> bytes:
    rng = np.random.default_rng(seed)
    base, spread = (80, 40) if malignant else (200, 8)
    pixels = np.clip(base + rng.normal(0, spread, size=(240, 240, 3)), 0, 255).astype(np.uint8)
    return images.encode(Image.fromarray(pixels), "JPEG", quality=95)


@pytest.mark.integration
@pytest.mark.timeout(1200)
def test_live_against_the_whole_system(sdk: Path, tmp_path: Path) -> None:
    """skinguard-dev run, a tiny model trained through the API and served, then the SDK's tests
    with SKINGUARD_GATEWAY_URL: predict, cache, feedback, currentModel and the ONNX file run by
    onnxruntime-node against the server's answer."""
    running = start_system(tmp_path / "system", OPEN_GATE)
    try:
        urls = running.urls
        system = System(
            urls["ingestion"], urls["annotation"], urls["gateway"], running.keys["admin"], running.keys["importer"]
        )
        photos = tmp_path / "clinic"
        for index in range(16):
            malignant = index % 2 == 1
            folder = photos / ("malignant" if malignant else "benign")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{index}.jpg").write_bytes(training_photo(index, malignant))
        collection = discover(photos)
        journal = Journal(tmp_path / "journal.jsonl")
        endpoints = Endpoints(system.ingestion, system.annotation, system.importer_key)
        summary = asyncio.run(run_import(collection, endpoints, journal, concurrency=4, progress=False))
        journal.close()
        assert summary.imported == 16
        with httpx.Client(timeout=60) as client:
            dataset = freeze_dataset(client, system, collection.source)
            job = wait_for_job(client, system, start_training(client, system, dataset["id"], TINY_TRAINING)["id"], 600)
            assert job["state"] == "succeeded", job["error"]
            wait_until_served(client, system, job["model_version"], timeout=300)

        output = run([tool("npm"), "test"], env={"SKINGUARD_GATEWAY_URL": system.gateway})
    finally:
        running.stop()
    print(*(line.strip() for line in output.splitlines() if "difference" in line), sep="\n")  # device vs server
    summary = node_test_summary(output)
    assert summary.get("fail") == 0, output[-5000:]
    assert "SKINGUARD_GATEWAY_URL is not set" not in output, output[-5000:]
    assert "has no onnx file" not in output, "the served version has no ONNX file: the device path did not run"
    assert "the device's ONNX answers match the server's" in output, output[-5000:]
