"""The gateway in-process on the test servers, with an in-memory model server in place of gRPC.

``tests/gateway/test_grpc_client.py`` drives the real gRPC client against a gRPC server instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from skinguard_gateway.app import create_app
from skinguard_gateway.serving.client import ModelClient
from skinguard_gateway.settings import GatewaySettings
from support.apps import running
from support.model_server_double import InMemoryModelClient

MODEL_INPUT_SIZE = 32


async def wipe(settings: GatewaySettings) -> None:
    """Empty the gateway's tables and its Redis keys (cache, rate-limit counters)."""
    engine = create_async_engine(settings.database_url)
    async with engine.begin() as connection:
        await connection.execute(text("TRUNCATE prediction_log, prediction_feedback"))
    await engine.dispose()
    redis = Redis.from_url(settings.redis_url)
    keys = [key async for key in redis.scan_iter("skinguard:gateway:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


@pytest_asyncio.fixture
async def clean_gateway(gateway_settings) -> AsyncIterator[None]:
    """Every gateway test starts and ends with no prediction, feedback or cache entry."""
    await wipe(gateway_settings)
    yield
    await wipe(gateway_settings)


@pytest.fixture
def model_server() -> InMemoryModelClient:
    """Version 1 served under the label ``stable``."""
    server = InMemoryModelClient(input_size=MODEL_INPUT_SIZE)
    server.serve(1)
    return server


@asynccontextmanager
async def serving_gateway(
    settings: GatewaySettings, model_client: ModelClient | None, **overrides
) -> AsyncIterator[tuple[object, httpx.AsyncClient]]:
    app = create_app(settings.model_copy(update=overrides), model_client=model_client)
    async with running(app) as client:
        yield app, client


@pytest_asyncio.fixture
async def gateway(gateway_settings, model_server, clean_gateway):
    """The app and an HTTP client to it."""
    async with serving_gateway(gateway_settings, model_server) as started:
        yield started


@pytest.fixture
def app(gateway):
    return gateway[0]


@pytest.fixture
def client(gateway) -> httpx.AsyncClient:
    return gateway[1]
