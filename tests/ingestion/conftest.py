from __future__ import annotations

import pytest
import pytest_asyncio


@pytest.fixture
def app(ingestion_service):
    return ingestion_service[0]


@pytest_asyncio.fixture
async def client(ingestion_service, clean_state):
    return ingestion_service[1]
