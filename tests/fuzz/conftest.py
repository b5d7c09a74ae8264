"""The three public HTTP services in-process on the test servers, and the checks every hostile
request must pass: no 5xx, a JSON error with ``error`` and ``detail``, and afterwards every
image row's object exists and every object has its row."""

from __future__ import annotations

import httpx
import pytest_asyncio
from gateway.conftest import serving_gateway, wipe
from sqlalchemy import text

from support.model_server_double import InMemoryModelClient
from support.system import bucket_keys


@pytest_asyncio.fixture
async def services(ingestion_service, annotation_service, gateway_settings, clean_state):
    model = InMemoryModelClient(input_size=32)
    model.serve(1)
    await wipe(gateway_settings)
    async with serving_gateway(gateway_settings, model) as (_, gateway):
        yield {"ingestion": ingestion_service[1], "annotation": annotation_service[1], "gateway": gateway}
    await wipe(gateway_settings)


def assert_refused_cleanly(response: httpx.Response) -> None:
    """A 2xx, or a 4xx in the error contract; never a 5xx."""
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) >= {"error", "detail"} and body["error"] and body["detail"], body


async def assert_objects_match_rows(ingestion_app, s3, bucket: str) -> None:
    async with ingestion_app.state.engine.connect() as connection:
        hashes = set((await connection.execute(text("SELECT image_hash FROM training_images"))).scalars())
    objects = {key.removeprefix("images/") for key in bucket_keys(s3, bucket, "images/")}
    assert objects == hashes, {"objects without rows": objects - hashes, "rows without objects": hashes - objects}


def pytest_terminal_summary(terminalreporter) -> None:
    from .recorder import RECORDER

    if RECORDER.statuses:
        terminalreporter.write_line(RECORDER.summary())
