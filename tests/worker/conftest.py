"""A real training worker process on the test servers, and a small learnable dataset."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from PIL import Image

from skinguard_devstack.processes import Process
from support import images


@pytest.fixture
def app(annotation_service):
    return annotation_service[0]


@pytest_asyncio.fixture
async def client(annotation_service, clean_state):
    return annotation_service[1]


class Worker:
    def __init__(self, servers, tmp: Path, **overrides: str) -> None:
        self.heartbeat = tmp / "worker.alive"
        env = {
            **os.environ,
            **servers.env,
            "SKINGUARD_HEARTBEAT_FILE": str(self.heartbeat),
            "SKINGUARD_WORK_DIR": str(tmp / "work"),
            "SKINGUARD_IMAGE_CACHE_DIR": str(tmp / "cache"),
            "SKINGUARD_VISIBILITY_TIMEOUT_SECONDS": "8",
            # Re-delivery after 8 s must not race the lost-job check on a loaded machine.
            "SKINGUARD_STALE_JOB_SECONDS": "300",
            "SKINGUARD_GATE_MIN_AUC": "0.0",
            # Four test photos give no meaningful sensitivity or ECE: these tests check the plumbing.
            "SKINGUARD_GATE_SENSITIVITY_TOLERANCE": "1.0",
            "SKINGUARD_GATE_MAX_ECE": "1.0",
            "SKINGUARD_LOG_JSON": "false",
            **overrides,
        }
        self.process = Process(
            "worker", [str(Path(sys.executable).parent / "skinguard-worker")], tmp / "worker.log", env=env
        )

    def start(self) -> None:
        self.heartbeat.unlink(missing_ok=True)
        self.process.start()
        self.process.wait_until(self.heartbeat.exists, timeout=60)

    def kill(self) -> None:
        import signal

        self.process.stop(timeout=5, sig=signal.SIGKILL)


@pytest.fixture
def worker(servers, tmp_path):
    started = Worker(servers, tmp_path)
    started.start()
    yield started
    started.process.stop()


def striped(seed: int, malignant: bool) -> bytes:
    """Benign: light, smooth; malignant: dark, mottled — learnable from 32x32 pixels."""
    rng = np.random.default_rng(seed)
    base = 80 if malignant else 200
    noise = rng.normal(0, 40 if malignant else 8, size=(224, 224, 3))
    return images.encode(Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)), "PNG")


@pytest_asyncio.fixture
async def dataset(ingestion_service, client, callers):
    """16 labelled images frozen 50/25/25 with a fixed seed."""
    _, ingestion = ingestion_service
    for index in range(16):
        malignant = index % 2 == 1
        upload = await ingestion.post(
            "/api/images/upload",
            headers=callers["uploader"].headers,
            files={"image": ("x.png", striped(index, malignant), "image/png")},
        )
        assert upload.status_code == 201, upload.text
        labelled = await client.post(
            f"/api/images/{upload.json()['id']}/annotate",
            headers=callers["annotator"].headers,
            json={"label": "malignant" if malignant else "benign"},
        )
        assert labelled.status_code == 201
    frozen = await client.post(
        "/api/datasets",
        headers=callers["admin"].headers,
        json={"name": "tiny", "seed": 3, "splits": {"train": 0.5, "validation": 0.25, "test": 0.25}},
    )
    assert frozen.status_code == 201, frozen.text
    return frozen.json()


TINY_CONFIG = {
    "model_type": "CNN",
    "input_size": 32,
    "batch_size": 4,
    "epochs": 2,
    "augmentation": False,
    "test_time_augmentation": "none",
    "early_stopping_patience": 0,
    "reduce_lr_patience": 0,
    "log_every_n_batches": 1,
}


async def wait_for(client, headers, job_id: str, predicate, limit_seconds: float = 180.0) -> dict:
    deadline = asyncio.get_running_loop().time() + limit_seconds
    while True:
        job = (await client.get(f"/api/training-jobs/{job_id}", headers=headers)).json()
        if predicate(job):
            return job
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job did not get there in {limit_seconds}s: {job}")
        await asyncio.sleep(0.5)
