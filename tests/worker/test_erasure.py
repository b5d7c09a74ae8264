"""Erasure end to end: an image trained on, then erased, leaves no notes, pseudonym or pixels.

The attack: a patient withdraws consent after their photo was labelled, frozen into a dataset
and trained on; anything that still holds their notes, their pseudonym or their pixels (an S3
object, the worker's pixel cache, a log line, a database row) breaks the promise.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid

from sqlalchemy import text

from .conftest import TINY_CONFIG, Worker, striped, wait_for


async def _upload(ingestion, callers, index: int, **fields: str) -> dict:
    response = await ingestion.post(
        "/api/images/upload",
        headers=callers["uploader"].headers,
        files={"image": ("x.png", striped(index, index % 2 == 1), "image/png")},
        data=fields,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _database_text(app) -> str:
    async with app.state.engine.connect() as connection:
        tables = (
            await connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        ).scalars()
        rows = []
        for table in list(tables):
            rows += (await connection.execute(text(f'SELECT CAST(t AS text) FROM "{table}" t'))).scalars().all()
    return "\n".join(rows)


def _bucket_objects(s3, bucket: str) -> dict[str, bytes]:
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


async def test_an_erased_image_leaves_nothing_personal_behind(
    servers, tmp_path, ingestion_service, client, callers, s3, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    worker = Worker(servers, tmp_path, SKINGUARD_IMAGE_CACHE_SWEEP_SECONDS="1", SKINGUARD_LOG_LEVEL="DEBUG")
    worker.start()
    try:
        _, ingestion = ingestion_service
        secret_notes = f"notes-{uuid.uuid4().hex}"
        patient_id = f"patient-{uuid.uuid4().hex}"
        target = await _upload(ingestion, callers, 1, notes=secret_notes, patient_id=patient_id, location="back")
        pseudonym = (await ingestion.get(f"/api/images/{target['id']}", headers=callers["admin"].headers)).json()[
            "patient_pseudonym"
        ]
        assert pseudonym
        others = [await _upload(ingestion, callers, index) for index in range(2, 17)]
        for index, image in enumerate([target, *others], start=1):
            said = {"label": "malignant" if index % 2 == 1 else "benign"}
            if image is target:
                said["metadata"] = {"comment": secret_notes, "dx": "mel"}
            labelled = await client.post(
                f"/api/images/{image['id']}/annotate", headers=callers["annotator"].headers, json=said
            )
            assert labelled.status_code == 201, labelled.text
        dataset = await client.post(
            "/api/datasets",
            headers=callers["admin"].headers,
            json={"name": "consent", "seed": 3, "splits": {"train": 0.5, "validation": 0.25, "test": 0.25}},
        )
        assert dataset.status_code == 201, dataset.text
        job = await client.post(
            f"/api/datasets/{dataset.json()['id']}/training-jobs",
            headers=callers["admin"].headers,
            json={"model_name": "consent", "config": TINY_CONFIG},
        )
        assert job.status_code == 202, job.text
        done = await wait_for(
            client, callers["admin"].headers, job.json()["id"], lambda j: j["state"] not in ("queued", "running")
        )
        assert done["state"] == "succeeded", done["error"]
        cached = list((tmp_path / "cache").glob(f"*px/{target['sha256']}.npy"))
        assert cached, "the pixels were cached while training"

        erased = await ingestion.delete(f"/api/images/{target['id']}", headers=callers["uploader"].headers)
        assert erased.status_code == 204
        for _ in range(40):  # the worker sweeps its cache every second here
            if not list((tmp_path / "cache").glob(f"*px/{target['sha256']}.npy")):
                break
            await asyncio.sleep(0.5)
    finally:
        worker.process.stop()

    pixels = striped(1, True)
    assert hashlib.sha256(pixels).hexdigest() == target["sha256"]
    secrets = (secret_notes, patient_id, pseudonym)
    for key, body in _bucket_objects(s3, settings.s3_bucket).items():
        assert body != pixels and not key.startswith(f"images/{target['sha256']}"), key
        assert not any(secret.encode() in body for secret in secrets), f"{key} keeps personal data"
    assert not list((tmp_path / "cache").rglob(f"{target['sha256']}*")), "the pixel cache keeps the photo"
    assert not [path for path in (tmp_path / "work").rglob("*") if path.is_file()], "job files outlive the job"
    rows = await _database_text(ingestion_service[0])  # every service's tables are in one database here
    assert not any(secret in rows for secret in secrets), "a database row keeps personal data"
    logs = (tmp_path / "worker.log").read_text() + "\n".join(record.getMessage() for record in caplog.records)
    assert not any(secret in logs for secret in secrets), "a log line keeps personal data"
