from __future__ import annotations

import pytest
import pytest_asyncio

from support import images


@pytest.fixture
def app(annotation_service):
    return annotation_service[0]


@pytest_asyncio.fixture
async def client(annotation_service, clean_state):
    return annotation_service[1]


@pytest.fixture
def ingest(ingestion_service, callers):
    """Upload an image through the ingestion service; returns its record."""
    _, ingestion = ingestion_service

    async def upload(data: bytes | None = None, *, seed: int = 0, caller: str = "uploader", **fields) -> dict:
        response = await ingestion.post(
            "/api/images/upload",
            headers=callers[caller].headers,
            files={"image": ("x.png", data if data is not None else images.png(seed=seed), "image/png")},
            data=fields,
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    return upload


@pytest.fixture
def label(client, callers):
    async def annotate(image_id: str, value: str, caller: str = "annotator", **extra):
        response = await client.post(
            f"/api/images/{image_id}/annotate", headers=callers[caller].headers, json={"label": value, **extra}
        )
        assert response.status_code in (200, 201), response.text
        return response.json()

    return annotate
