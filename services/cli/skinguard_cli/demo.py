"""``skinguard demo DIR``: the whole loop against a running system, step by step, over HTTP.

import DIR -> freeze a dataset -> train a small model -> wait for promotion -> wait until the
gateway serves it -> classify a few images (the first one twice, to show the cache).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from skinguard_datasets.layouts import Collection

from .importer import Endpoints, Journal, run_import

SMALL_MODEL = {
    "model_type": "CNN",
    "input_size": 64,
    "batch_size": 16,
    "epochs": 3,
    "augmentation": False,
    "early_stopping_patience": 0,
    "reduce_lr_patience": 0,
}


@dataclass(frozen=True)
class System:
    ingestion: str
    annotation: str
    gateway: str
    admin_key: str
    importer_key: str

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


def say(step: str) -> None:
    print(f"==> {step}", flush=True)


def _ok(response: httpx.Response, expected: tuple[int, ...] = (200, 201, 202)) -> dict[str, Any]:
    if response.status_code not in expected:
        raise SystemExit(f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}")
    return response.json()


def freeze_dataset(client: httpx.Client, system: System, source: str, name: str = "demo") -> dict[str, Any]:
    body = {"name": name, "seed": 1, "filters": {"sources": [source]}, "description": "skinguard demo"}
    return _ok(client.post(f"{system.annotation}/api/datasets", json=body, headers=system.admin()))


def start_training(client: httpx.Client, system: System, dataset_id: str, config: dict[str, Any]) -> dict[str, Any]:
    body = {"model_name": "skinguard", "config": config}
    return _ok(
        client.post(f"{system.annotation}/api/datasets/{dataset_id}/training-jobs", json=body, headers=system.admin())
    )


def wait_for_job(client: httpx.Client, system: System, job_id: str, timeout: float = 1800) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        job = _ok(client.get(f"{system.annotation}/api/training-jobs/{job_id}", headers=system.admin()))
        progress = job["progress"]
        shown = (job["state"], progress.get("phase"), progress.get("epoch"))
        if shown != last:
            metrics = ", ".join(f"{k}={v:.3f}" for k, v in progress.get("metrics", {}).items() if isinstance(v, float))
            print(f"    {job['state']:<9} {progress.get('phase', '')} epoch {progress.get('epoch', '-')} {metrics}")
            last = shown
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(1)
    raise SystemExit(f"training job {job_id} did not finish in {timeout:.0f}s")


def model_version(client: httpx.Client, system: System, version: int) -> dict[str, Any]:
    versions = _ok(client.get(f"{system.annotation}/api/models", params={"name": "skinguard"}, headers=system.admin()))
    return next(v for v in versions["items"] if v["version"] == version)


def promote(client: httpx.Client, system: System, version: int) -> dict[str, Any]:
    return _ok(client.post(f"{system.annotation}/api/models/skinguard/{version}/promote", headers=system.admin()))


def wait_until_served(client: httpx.Client, system: System, version: int, timeout: float = 300) -> dict[str, Any]:
    """Model-sync copies the version, the model server loads it, the gateway follows the label."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = client.get(f"{system.gateway}/health")
        if health.status_code == 200 and health.json().get("model_version") == version:
            return health.json()
        time.sleep(1)
    raise SystemExit(f"the gateway did not serve version {version} within {timeout:.0f}s")


def classify(client: httpx.Client, system: System, path: Path) -> dict[str, Any]:
    response = client.post(f"{system.gateway}/predict", files={"file": (path.name, path.read_bytes())})
    return _ok(response, (200,))


def run_demo(
    system: System, collection: Collection, journal: Journal, *, config: dict, force_promote: bool, samples: int
) -> int:
    say(f"importing {len(collection.items)} images from {collection.source}")
    endpoints = Endpoints(system.ingestion, system.annotation, system.importer_key)
    summary = asyncio.run(run_import(collection, endpoints, journal, concurrency=8))
    print("    " + "\n    ".join(summary.lines()))
    with httpx.Client(timeout=60) as client:
        say("freezing a dataset version (grouped, stratified split)")
        dataset = freeze_dataset(client, system, collection.source)
        report = dataset["leakage_report"]
        counts = {split: figures["images"] for split, figures in report["splits"].items()}
        print(f"    dataset {dataset['name']} v{dataset['version']}: {counts}, crossings {report['crossings']}")
        say(f"training {config['model_type']} for {config['epochs']} epochs")
        job = wait_for_job(client, system, start_training(client, system, dataset["id"], config)["id"])
        if job["state"] != "succeeded":
            raise SystemExit(f"training {job['state']}: {job['error']}")
        version = model_version(client, system, job["model_version"])
        print(f"    version {version['version']}: test AUC {version['test_auc']}, {version['status']}")
        print(f"    gate: {version['gate']['reason']}")
        if version["status"] != "promoted":
            if not force_promote:
                raise SystemExit("the quality gate did not promote it; rerun with --force-promote to serve it anyway")
            say("promoting by hand (--force-promote)")
            promote(client, system, version["version"])
        say(f"waiting for the gateway to serve version {version['version']}")
        wait_until_served(client, system, version["version"])
        say("classifying through the gateway")
        picked = random.Random(0).sample(collection.items, min(samples, len(collection.items)))
        for item in [*picked, picked[0]]:
            result = classify(client, system, item.path)
            print(
                f"    {item.key:<40} truth {item.label:<9} -> {result['predicted_class']:<9} "
                f"{result['confidence']:.2f} risk {result['risk_level']:<11} cached {result['cached']}"
            )
    return 0
