"""Training through the queue: a real worker turns a dataset version into a registered SavedModel."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from .conftest import TINY_CONFIG, Worker, wait_for


def finished(job: dict) -> bool:
    return job["state"] in ("succeeded", "failed", "cancelled")


async def start_job(client, callers, dataset, **config) -> dict:
    response = await client.post(
        f"/api/datasets/{dataset['id']}/training-jobs",
        headers=callers["admin"].headers,
        json={"model_name": "tiny", "config": {**TINY_CONFIG, **config}},
    )
    assert response.status_code == 202, response.text
    assert response.json()["state"] == "queued"
    return response.json()


def download_prefix(s3, bucket: str, prefix: str, target) -> list[str]:
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    for key in keys:
        path = target / key.removeprefix(prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(path))
    return [key.removeprefix(prefix) for key in keys]


async def test_job_trains_registers_and_publishes_a_loadable_savedmodel(
    client, callers, dataset, worker, s3, settings, tmp_path
):
    job = await start_job(client, callers, dataset)
    done = await wait_for(client, callers["admin"].headers, job["id"], finished)
    assert done["state"] == "succeeded", done["error"]
    assert done["model_version"] == 1 and done["attempts"] == 1
    assert done["progress"]["phase"] == "done" and done["progress"]["epoch"] >= 1
    # One history entry per finished epoch, with its validation figures (the web app's curves).
    history = done["progress"]["history"]
    assert [entry["epoch"] for entry in history] == list(range(1, done["progress"]["epoch"] + 1))
    assert all("loss" in entry and "val_loss" in entry for entry in history)

    models = (await client.get("/api/models", headers=callers["admin"].headers, params={"name": "tiny"})).json()
    [version] = models["items"]
    assert version["status"] == "promoted" and version["artifact_url"].endswith("models/tiny/1/")
    assert version["gate"]["promote"] is True and "roc_auc" in version["metrics"]
    plots = (await client.get("/api/models/tiny/1/plots", headers=callers["admin"].headers)).json()["plots"]
    assert "training_curves.png" in plots and "evaluation_roc_curve.png" in plots
    plot = await client.get("/api/models/tiny/1/plots/evaluation_roc_curve.png", headers=callers["admin"].headers)
    assert plot.status_code == 200 and plot.content.startswith(b"\x89PNG")
    missing = await client.get("/api/models/tiny/1/plots/nope.png", headers=callers["admin"].headers)
    assert missing.status_code == 404 and missing.json()["error"] == "no_plot"
    hostile = await client.get("/api/models/tiny/1/plots/..%2Fmodel_card.json", headers=callers["admin"].headers)
    assert hostile.status_code in (404, 422)

    files = download_prefix(s3, settings.s3_bucket, "models/tiny/1/", tmp_path / "model")
    for expected in ("saved_model.pb", "metadata.json", "model.tflite", "assets.extra/tf_serving_warmup_requests"):
        assert expected in files, files
    metadata = json.loads((tmp_path / "model" / "metadata.json").read_text())
    assert metadata["class_names"] == ["benign", "malignant"]
    index = json.loads(s3.get_object(Bucket=settings.s3_bucket, Key="models/tiny/versions.json")["Body"].read())
    assert index == {
        "model": "tiny",
        "generation": 1,
        "versions": [{"version": 1, "status": "promoted", "labels": ["stable"]}],
    }

    import tensorflow as tf

    loaded = tf.saved_model.load(str(tmp_path / "model"))
    batch = np.random.default_rng(0).integers(0, 255, size=(3, 32, 32, 3), dtype=np.uint8)
    outputs = loaded.signatures["serving_default"](image=tf.constant(batch))
    probabilities = next(iter(outputs.values())).numpy()
    assert probabilities.shape == (3, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


async def test_cancelling_a_running_job_stops_it(client, callers, dataset, worker):
    job = await start_job(client, callers, dataset, epochs=500)
    await wait_for(client, callers["admin"].headers, job["id"], lambda j: j["progress"].get("epoch", 0) >= 1)
    cancel = await client.post(f"/api/training-jobs/{job['id']}/cancel", headers=callers["admin"].headers)
    assert cancel.status_code == 202 and cancel.json()["cancel_requested"] is True
    done = await wait_for(client, callers["admin"].headers, job["id"], finished, limit_seconds=60)
    assert done["state"] == "cancelled" and done["progress"]["epoch"] < 500
    again = await client.post(f"/api/training-jobs/{job['id']}/cancel", headers=callers["admin"].headers)
    assert again.status_code == 409


async def test_cancelling_a_queued_job_is_immediate(client, callers, dataset):
    job = await start_job(client, callers, dataset)  # no worker running: it stays queued
    cancel = await client.post(f"/api/training-jobs/{job['id']}/cancel", headers=callers["admin"].headers)
    assert cancel.json()["state"] == "cancelled"


async def test_killed_worker_job_is_redelivered_and_completes(client, callers, dataset, servers, tmp_path):
    first = Worker(servers, tmp_path / "first")
    first.start()
    job = await start_job(client, callers, dataset, epochs=30)
    await wait_for(client, callers["admin"].headers, job["id"], lambda j: j["progress"].get("epoch", 0) >= 1)
    first.kill()
    running = (await client.get(f"/api/training-jobs/{job['id']}", headers=callers["admin"].headers)).json()
    assert running["state"] == "running"
    second = Worker(servers, tmp_path / "second")
    second.start()
    try:
        done = await wait_for(client, callers["admin"].headers, job["id"], finished, limit_seconds=240)
    finally:
        second.process.stop()
    assert done["state"] == "succeeded", done["error"]
    assert done["attempts"] == 2


@pytest.mark.parametrize(
    "config",
    [
        {"model_type": "VGG99"},
        {"epochs": 0},
        {"learning_rate": -1},
        {"optimizer": "adagrad"},
        {"batch_size": 4, "unknown_option": True},
    ],
    ids=["model-type", "epochs", "learning-rate", "optimizer", "unknown-field"],
)
async def test_invalid_configs_are_422_and_queue_nothing(client, callers, dataset, config):
    response = await client.post(
        f"/api/datasets/{dataset['id']}/training-jobs", headers=callers["admin"].headers, json={"config": config}
    )
    assert response.status_code == 422, response.text
    listed = (await client.get("/api/training-jobs", headers=callers["admin"].headers)).json()
    assert listed["total"] == 0


async def test_unknown_dataset_and_job_are_404(client, callers):
    missing = await client.post(
        f"/api/datasets/{uuid.uuid4()}/training-jobs", headers=callers["admin"].headers, json={}
    )
    assert missing.status_code == 404
    assert (await client.get(f"/api/training-jobs/{uuid.uuid4()}", headers=callers["admin"].headers)).status_code == 404


async def test_training_endpoints_are_for_admins(client, callers, dataset):
    path = f"/api/datasets/{dataset['id']}/training-jobs"
    assert (await client.post(path, json={})).status_code == 401
    assert (await client.post(path, json={}, headers=callers["annotator"].headers)).status_code == 403
    assert (await client.get("/api/models", headers=callers["uploader"].headers)).status_code == 403


class _RedisDown:
    def set(self, *args, **kwargs):
        raise ConnectionError("redis is down")


async def test_a_cancel_with_redis_down_answers_503_and_the_running_job_still_stops(
    app, client, callers, dataset, worker, monkeypatch
):
    admin = callers["admin"].headers
    job = await start_job(client, callers, dataset, epochs=500)
    await wait_for(client, admin, job["id"], lambda j: j["progress"].get("epoch", 0) >= 1)
    monkeypatch.setattr(app.state.queue, "redis", _RedisDown())
    cancel = await client.post(f"/api/training-jobs/{job['id']}/cancel", headers=admin)
    assert cancel.status_code == 503 and "recorded" in cancel.json()["detail"]
    # The flag is in the database: the worker reads it with its next progress report.
    recorded = (await client.get(f"/api/training-jobs/{job['id']}", headers=admin)).json()
    assert recorded["cancel_requested"] is True
    done = await wait_for(client, admin, job["id"], finished, limit_seconds=60)
    assert done["state"] == "cancelled" and done["progress"]["epoch"] < 500


async def test_a_queued_job_is_not_sent_when_the_request_fails(app, client, callers, dataset, monkeypatch):
    class QueueDown:
        def send_task(self, *args, **kwargs):
            raise ConnectionError("broker is down")

    monkeypatch.setattr(app.state.queue, "celery", QueueDown())
    response = await client.post(
        f"/api/datasets/{dataset['id']}/training-jobs", headers=callers["admin"].headers, json={"config": TINY_CONFIG}
    )
    assert response.status_code == 503 and response.json()["error"] == "service_unavailable"
    [job] = (await client.get("/api/training-jobs", headers=callers["admin"].headers)).json()["items"]
    assert job["state"] == "failed" and "could not enqueue" in job["error"]
