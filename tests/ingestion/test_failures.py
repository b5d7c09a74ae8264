"""Outages and failed writes never leave half-stored data; health and metrics tell the truth."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from support import images
from support.system import bucket_keys

from .test_upload import row_count, upload


@pytest.fixture
def s3_outage(servers):
    if servers.s3 is None:
        pytest.skip("needs embedded servers to stop S3")
    servers.s3.stop()
    try:
        yield
    finally:
        servers.s3.start()


async def test_upload_while_s3_is_down_is_503_and_stores_nothing(
    app, client, callers, servers, s3, settings, s3_outage
):
    response = await upload(client, callers["uploader"], images.jpeg(seed=50))
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "storage_unavailable"
    # S3's own error text (endpoint, bucket, request ids) stays in the logs.
    assert response.json()["detail"] == "the object store is unavailable; try again later"
    assert settings.s3_endpoint_url not in response.text and settings.s3_bucket not in response.text
    assert "retry-after" in response.headers
    assert await row_count(app) == 0
    ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["object_store"] != "ok"
    assert ready.json()["checks"]["database"] == "ok"
    servers.s3.start()
    assert bucket_keys(s3, settings.s3_bucket) == []
    retried = await upload(client, callers["uploader"], images.jpeg(seed=50))
    assert retried.status_code == 201


async def test_erasure_while_s3_is_down_keeps_row_and_object(app, client, callers, servers, s3, settings):
    created = (await upload(client, callers["uploader"], images.jpeg(seed=51))).json()
    servers.s3.stop() if servers.s3 else pytest.skip("needs embedded servers")
    try:
        response = await client.delete(f"/api/images/{created['id']}", headers=callers["uploader"].headers)
        assert response.status_code == 503
    finally:
        servers.s3.start()
    assert await row_count(app) == 1
    assert bucket_keys(s3, settings.s3_bucket) == [f"images/{created['sha256']}"]


@pytest.fixture
def retried_put_answers_exists(app, monkeypatch):
    """S3 as a retried conditional PUT leaves it: the first attempt wrote the object, the retry
    was answered "precondition failed", so the store says the key already existed."""
    store = app.state.store

    async def put_if_absent(key: str, data: bytes, content_type: str) -> bool:
        await store.put(key, data, content_type)
        return False

    monkeypatch.setattr(store, "put_if_absent", put_if_absent)


@pytest.mark.parametrize("put_answer", ["created", "retried PUT: already there"])
async def test_failed_row_write_removes_the_new_object(app, client, callers, s3, settings, request, put_answer):
    if put_answer != "created":
        request.getfixturevalue("retried_put_answers_exists")
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text(
                "CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$"
            )
        )
        await connection.execute(
            text(
                "CREATE TRIGGER refuse_insert BEFORE INSERT ON training_images "
                "FOR EACH ROW EXECUTE FUNCTION refuse_row()"
            )
        )
    try:
        response = await upload(client, callers["uploader"], images.jpeg(seed=52))
    finally:
        async with app.state.engine.begin() as connection:
            await connection.execute(text("DROP TRIGGER refuse_insert ON training_images"))
            await connection.execute(text("DROP FUNCTION refuse_row()"))
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert await row_count(app) == 0
    assert bucket_keys(s3, settings.s3_bucket) == []
    async with app.state.engine.begin() as connection:  # settled at once, nothing left for the sweep
        assert (await connection.execute(text("SELECT count(*) FROM upload_intents"))).scalar() == 0


async def test_health_ready_and_metrics(app, client, callers):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "object_store": "ok"}
    samples = [
        ("skinguard_uploads_total", {"outcome": "created"}),
        ("skinguard_uploads_total", {"outcome": "duplicate"}),
        ("skinguard_upload_rejections_total", {"reason": "unsupported_format"}),
        (
            "http_requests_total",
            {"method": "POST", "route": "/api/images/upload", "service": "ingestion", "status": "201"},
        ),
    ]
    value = lambda name, labels: app.state.registry.get_sample_value(name, labels) or 0.0  # noqa: E731
    before = [value(*sample) for sample in samples]
    await upload(client, callers["uploader"], images.jpeg(seed=53))
    await upload(client, callers["uploader"], images.jpeg(seed=53))
    await upload(client, callers["uploader"], b"nope" * 50)
    after = [value(*sample) for sample in samples]
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 1]
    exposition = (await client.get("/metrics")).text
    assert "skinguard_uploads_total" in exposition and "http_request_duration_seconds_bucket" in exposition


async def test_openapi_documents_every_endpoint(client):
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert {"/api/images/upload", "/api/images", "/api/images/{image_id}", "/api/images/{image_id}/content"} <= set(
        paths
    )
    assert "413" in paths["/api/images/upload"]["post"]["responses"]
    assert "bearer" in str(spec["components"]["securitySchemes"]).lower()
