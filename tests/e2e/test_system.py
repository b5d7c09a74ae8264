"""The whole system as processes (``skinguard-dev run``), driven over HTTP only, like the demo.

import -> dataset -> training through the queue -> gate -> model-sync -> model server ->
gateway: the promoted model's prediction arrives through the gateway, the second identical
request is a cache hit, and a newly promoted version is picked up without restarting anything.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import boto3
import httpx
import numpy as np
import pytest
from PIL import Image

from skinguard_cli.demo import System, classify, freeze_dataset, start_training, wait_for_job, wait_until_served
from skinguard_cli.importer import Endpoints, Journal, run_import
from skinguard_datasets.layouts import discover
from skinguard_imaging import to_model_input
from support import images
from support.running_system import OPEN_GATE, TINY_TRAINING, start_system

pytestmark = pytest.mark.integration

CONFIG = TINY_TRAINING


def lesion_photo(seed: int, malignant: bool) -> bytes:
    rng = np.random.default_rng(seed)
    base, spread = (80, 40) if malignant else (200, 8)
    pixels = np.clip(base + rng.normal(0, spread, size=(240, 240, 3)), 0, 255).astype(np.uint8)
    return images.encode(Image.fromarray(pixels), "JPEG", quality=95)


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    running = start_system(tmp_path_factory.mktemp("e2e"), OPEN_GATE)  # this test is about the plumbing
    urls = running.urls
    yield {
        "system": System(
            urls["ingestion"], urls["annotation"], urls["gateway"], running.keys["admin"], running.keys["importer"]
        ),
        "s3": boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{running.ports['s3']}",
            region_name="us-east-1",
            aws_access_key_id=running.secrets["s3_access_key"],
            aws_secret_access_key=running.secrets["s3_secret_key"],
        ),
        "root": running.root,
    }
    running.stop()


def savedmodel_probabilities(s3, version: int, data: bytes, target: Path) -> np.ndarray:
    import tensorflow as tf

    prefix = f"models/skinguard/{version}/"
    for item in s3.list_objects_v2(Bucket="skinguard", Prefix=prefix)["Contents"]:
        path = target / item["Key"].removeprefix(prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file("skinguard", item["Key"], str(path))
    model = tf.saved_model.load(str(target))
    pixels = to_model_input(data, CONFIG["input_size"])[None]
    return model.signatures["serving_default"](image=tf.constant(pixels))["probabilities"].numpy()[0]


def test_prediction_of_the_promoted_model_arrives_through_the_gateway(system, tmp_path):
    sg: System = system["system"]
    collection_dir = tmp_path / "clinic"
    for index in range(16):
        malignant = index % 2 == 1
        folder = collection_dir / ("malignant" if malignant else "benign")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{index}.jpg").write_bytes(lesion_photo(index, malignant))
    collection = discover(collection_dir)
    journal = Journal(tmp_path / "journal.jsonl")
    summary = asyncio.run(
        run_import(
            collection, Endpoints(sg.ingestion, sg.annotation, sg.importer_key), journal, concurrency=4, progress=False
        )
    )
    journal.close()
    assert summary.imported == 16

    with httpx.Client(timeout=60) as client:
        assert client.get(f"{sg.gateway}/health").json()["model_loaded"] is False
        dataset = freeze_dataset(client, sg, collection.source)
        job = wait_for_job(client, sg, start_training(client, sg, dataset["id"], CONFIG)["id"], timeout=300)
        assert job["state"] == "succeeded", job["error"]
        assert job["model_version"] == 1
        health = wait_until_served(client, sg, 1, timeout=180)
        assert health["model_loaded"] is True

        photo = collection.items[0].path
        first = classify(client, sg, photo)
        assert first["model"] == {"name": "skinguard", "version": 1} and first["cached"] is False
        expected = savedmodel_probabilities(system["s3"], 1, photo.read_bytes(), tmp_path / "v1")
        served = np.array([first["probabilities"]["benign"], first["probabilities"]["malignant"]])
        np.testing.assert_allclose(served, expected, rtol=1e-4, atol=1e-5)

        second = classify(client, sg, photo)
        assert second["cached"] is True and second["probabilities"] == first["probabilities"]

        # A new version is trained and promoted while everything keeps running.
        job = wait_for_job(
            client, sg, start_training(client, sg, dataset["id"], {**CONFIG, "seed": 7})["id"], timeout=300
        )
        assert job["model_version"] == 2, job
        wait_until_served(client, sg, 2, timeout=180)
        third = classify(client, sg, photo)
        assert third["model"]["version"] == 2 and third["cached"] is False
