"""When things fail: Redis, the model server, deadlines, the database; and limits: rate, CORS."""

from __future__ import annotations

import time

import httpx
import pytest
from prometheus_client import generate_latest
from pydantic import ValidationError

from skinguard_devstack.processes import free_port
from skinguard_gateway.app import create_app
from skinguard_gateway.errors import ServingUnavailable
from skinguard_gateway.settings import GatewaySettings
from support import images
from support.apps import running

from .conftest import serving_gateway
from .test_predict_api import PHOTO, predict


async def test_with_redis_down_predictions_are_served_uncached(gateway_settings, model_server, clean_gateway) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    async with serving_gateway(gateway_settings, model_server, redis_url=closed) as (_, client):
        answers = [await predict(client) for _ in range(2)]
        assert [answer.status_code for answer in answers] == [200, 200]
        assert [answer.json()["cached"] for answer in answers] == [False, False]
        assert len(model_server.inputs) == 2
        metrics = (await client.get("/metrics")).text
        assert 'skinguard_gateway_redis_errors_total{operation="cache_get"}' in metrics


async def test_with_redis_down_the_rate_limit_is_kept_per_process(
    gateway_settings, model_server, clean_gateway
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    async with serving_gateway(gateway_settings, model_server, redis_url=closed, rate_limit_per_minute=2) as (_, c):
        statuses = [(await predict(c)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]


async def test_serving_down_is_503_with_retry_after(gateway_settings, clean_gateway) -> None:
    # The real gRPC client, pointed at a port nobody listens on.
    unreachable = f"127.0.0.1:{free_port()}"
    async with serving_gateway(gateway_settings, None, serving_target=unreachable) as (_, client):
        response = await predict(client)
        assert (response.status_code, response.json()["error"]) == (503, "serving_unavailable")
        assert int(response.headers["retry-after"]) > 0
        health = (await client.get("/health")).json()
        assert (health["status"], health["model_loaded"]) == ("degraded", False)


async def test_serving_going_down_after_start_is_503(client, model_server) -> None:
    assert (await predict(client)).status_code == 200
    model_server.failure = ServingUnavailable("failed to connect to all addresses")
    response = await predict(client, images.jpeg(320, 240, seed=9))
    assert (response.status_code, response.json()["error"]) == (503, "serving_unavailable")
    assert response.headers["retry-after"]


async def test_a_model_server_slower_than_the_deadline_is_504(gateway_settings, model_server, clean_gateway) -> None:
    async with serving_gateway(gateway_settings, model_server, serving_deadline_seconds=0.1) as (_, client):
        model_server.delay_seconds = 1.0  # a client that ignores deadlines: the gateway enforces its own
        response = await predict(client)
        assert (response.status_code, response.json()["error"]) == (504, "serving_timeout")
        metrics = (await client.get("/metrics")).text
        assert 'skinguard_gateway_serving_errors_total{error="serving_timeout",method="Predict"} 1.0' in metrics


async def test_rate_limit_per_client_is_429_with_retry_after(gateway_settings, model_server, clean_gateway) -> None:
    async with serving_gateway(gateway_settings, model_server, rate_limit_per_minute=3) as (app, client):
        statuses = [(await predict(client)).status_code for _ in range(3)]
        refused = await predict(client)
        assert statuses == [200, 200, 200]
        assert (refused.status_code, refused.json()["error"]) == (429, "rate_limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        feedback = await client.post(
            "/feedback", json={"prediction_id": "x", "feedback_token": "t", "actual_label": "benign"}
        )
        assert feedback.status_code == 429  # feedback counts too

        elsewhere = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with httpx.AsyncClient(transport=elsewhere, base_url="http://testserver") as other:
            assert (await predict(other)).status_code == 200  # another client has its own allowance
        assert (await client.get("/health")).status_code == 200  # operations are not limited


async def test_cors_allows_only_the_configured_origins(gateway_settings, model_server, clean_gateway) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    async with serving_gateway(gateway_settings, model_server, cors_origins=["https://app.example"]) as (_, client):
        allowed = await client.options("/predict", headers=preflight)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        answer = await predict(client, Origin="https://app.example")
        assert answer.headers["access-control-allow-origin"] == "https://app.example"
        assert "x-request-id" in answer.headers["access-control-expose-headers"].lower()
        foreign = await client.options("/predict", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in foreign.headers


async def test_no_cross_origin_access_by_default(client) -> None:
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in (await client.options("/predict", headers=preflight)).headers
    assert "access-control-allow-origin" not in (await predict(client, Origin="https://app.example")).headers


async def test_with_the_database_down_predictions_are_served_but_feedback_is_503(
    gateway_settings, model_server, clean_gateway
) -> None:
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/skinguard"
    async with serving_gateway(gateway_settings, model_server, database_url=closed) as (app, client):
        answer = await predict(client)
        assert answer.status_code == 200 and answer.json()["cached"] is False
        proof = {key: answer.json()[key] for key in ("prediction_id", "feedback_token")}
        started = time.monotonic()
        feedback = await client.post("/feedback", json={**proof, "actual_label": "benign"})
        assert (feedback.status_code, feedback.json()["error"]) == (503, "database_unavailable")
        assert feedback.headers["retry-after"]
        assert time.monotonic() - started < 2  # no waiting for a write that cannot happen
        # The row is kept and its write retried while the database is away.
        metrics = (await client.get("/metrics")).text
        assert "skinguard_gateway_prediction_log_write_errors_total 0.0" not in metrics
        assert "skinguard_gateway_prediction_log_queued 1.0" in metrics
        assert "skinguard_gateway_prediction_log_failures_total 0.0" in metrics
    # Still away at shutdown: the row is given up, counted and logged, and shutdown is not held up.
    assert "skinguard_gateway_prediction_log_failures_total 1.0" in generate_latest(app.state.registry).decode()


@pytest.mark.parametrize("origin", ["*.example", "https://app.example/path", "app.example"])
def test_cors_origins_must_be_origins(origin: str) -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(cors_origins=origin)


async def test_the_gateway_starts_and_stops_without_any_server(gateway_settings) -> None:
    nowhere = {
        "serving_target": f"127.0.0.1:{free_port()}",
        "redis_url": f"redis://127.0.0.1:{free_port()}/0",
        "database_url": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/skinguard",
    }
    async with running(create_app(gateway_settings.model_copy(update=nowhere))) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/readyz")).status_code == 503
        assert (await predict(client, PHOTO)).status_code == 503
