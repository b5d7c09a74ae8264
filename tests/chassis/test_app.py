"""The shared service shape, without servers: error rendering, body limits, request ids, readiness."""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from skinguard_chassis.app import create_service_app
from skinguard_contracts.errors import Conflict, ServiceUnavailable
from skinguard_runtime.settings import CommonSettings


@asynccontextmanager
async def no_resources(_: FastAPI):
    yield


def make_app(checks=None, max_body_bytes: int = 1000, docs: bool = True) -> FastAPI:
    app = create_service_app(
        name="demo",
        version="0",
        description="",
        lifespan=no_resources,
        readiness_checks=lambda _: checks or {},
        max_body_bytes=max_body_bytes,
        docs=docs,
    )

    @app.post("/echo")
    async def echo(payload: dict) -> dict:
        return payload

    @app.get("/conflict")
    async def conflict() -> None:
        raise Conflict("already there")

    @app.get("/busy")
    async def busy() -> None:
        raise ServiceUnavailable("try later", retry_after=7)

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("secret internals")

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_app_errors_render_as_code_and_detail():
    async with client(make_app()) as http:
        conflict = await http.get("/conflict")
        busy = await http.get("/busy")
        missing = await http.get("/nowhere")
        invalid = await http.post("/echo", content=b"[not json")
        bug = await http.get("/bug")
    assert (conflict.status_code, conflict.json()) == (409, {"error": "conflict", "detail": "already there"})
    assert busy.status_code == 503 and busy.headers["retry-after"] == "7"
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert invalid.status_code == 422 and invalid.json()["error"] == "invalid"
    assert bug.status_code == 500 and bug.json()["error"] == "internal_error"
    assert "secret internals" not in bug.text


async def test_declared_body_over_the_limit_is_refused_up_front():
    async with client(make_app(max_body_bytes=100)) as http:
        response = await http.post("/echo", json={"x": "y" * 200})
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large"


async def test_streamed_body_over_the_limit_is_cut_off():
    async def chunks():
        for _ in range(10):
            yield b"x" * 50

    async with client(make_app(max_body_bytes=100)) as http:
        response = await http.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


async def test_body_under_the_limit_passes():
    async with client(make_app(max_body_bytes=100)) as http:
        response = await http.post("/echo", json={"x": "y"})
    assert response.status_code == 200 and response.json() == {"x": "y"}


async def test_request_id_is_kept_when_sane_and_made_otherwise():
    async with client(make_app()) as http:
        kept = await http.get("/healthz", headers={"x-request-id": "abc-123"})
        replaced = await http.get("/healthz", headers={"x-request-id": "bad id\nwith newline"})
    assert kept.headers["x-request-id"] == "abc-123"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_readiness_reports_each_failing_dependency():
    async def ok() -> None:
        return None

    async def down() -> None:
        raise ConnectionRefusedError("nobody home")

    async with client(make_app({"database": ok, "object_store": down})) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert "nobody home" in response.json()["checks"]["object_store"]


def test_prod_refuses_placeholder_secrets(monkeypatch):
    monkeypatch.setenv("SKINGUARD_ENV", "prod")
    with pytest.raises(ValidationError, match="SKINGUARD_S3_SECRET_KEY"):
        CommonSettings()
    monkeypatch.setenv("SKINGUARD_S3_SECRET_KEY", "a-real-secret-of-some-length")
    with pytest.raises(ValidationError, match="the password of SKINGUARD_DATABASE_URL"):
        CommonSettings()  # the default URL has no password
    monkeypatch.setenv("SKINGUARD_DATABASE_URL", "postgresql+asyncpg://skinguard:dev-postgres-password@db/skinguard")
    with pytest.raises(ValidationError, match="the password of SKINGUARD_DATABASE_URL"):
        CommonSettings()  # a placeholder
    monkeypatch.setenv("SKINGUARD_DATABASE_URL", "postgresql+asyncpg://skinguard:4f9c2e7a1b3d5f6e8a0c@db/skinguard")
    assert CommonSettings().env == "prod"


def test_each_service_is_checked_for_the_secrets_it_uses_only(monkeypatch):
    from skinguard_annotation.settings import AnnotationSettings
    from skinguard_chassis.service_cli import MigrationSettings
    from skinguard_gateway.settings import GatewaySettings
    from skinguard_ingestion.settings import IngestionSettings
    from skinguard_model_sync.settings import SyncSettings
    from skinguard_serving.settings import ServingSettings

    real = "4f9c2e7a1b3d5f6e8a0c"
    monkeypatch.setenv("SKINGUARD_ENV", "prod")
    monkeypatch.setenv("SKINGUARD_DATABASE_URL", f"postgresql+asyncpg://skinguard:{real}@db/skinguard")
    monkeypatch.setenv("SKINGUARD_S3_SECRET_KEY", real)
    assert MigrationSettings().env == "prod" and ServingSettings().env == "prod" and SyncSettings().env == "prod"
    with pytest.raises(ValidationError, match="SKINGUARD_PSEUDONYM_KEY"):
        IngestionSettings()  # the one service that pseudonymises patient ids
    with pytest.raises(ValidationError, match="the password of SKINGUARD_REDIS_URL"):
        AnnotationSettings()
    monkeypatch.setenv("SKINGUARD_REDIS_URL", "redis://:dev-redis-password@redis:6379/0")
    with pytest.raises(ValidationError, match="the password of SKINGUARD_REDIS_URL"):
        AnnotationSettings()
    monkeypatch.setenv("SKINGUARD_REDIS_URL", f"redis://:{real}@redis:6379/0")
    assert AnnotationSettings().env == "prod"
    with pytest.raises(ValidationError, match="SKINGUARD_FEEDBACK_KEY"):
        GatewaySettings()


async def test_production_serves_no_api_map():
    async with client(make_app(docs=False)) as http:
        for page in ("/docs", "/redoc", "/openapi.json"):
            assert (await http.get(page)).status_code == 404, page
    async with client(make_app()) as http:
        assert (await http.get("/openapi.json")).status_code == 200


async def test_a_500_closes_the_connection_cleanly():
    async with client(make_app()) as http:
        bug = await http.get("/bug")
    assert bug.status_code == 500 and bug.headers["connection"] == "close"


@pytest.mark.parametrize(
    "raw",
    ['{"a": "x\\u0000"}', '{"\\udcff": 1}', '{"a": NaN}', '{"a": -Infinity}', '{"a": 99999999999999999999}'],
)
async def test_unstorable_json_is_refused_before_any_route(raw):
    async with client(make_app(max_body_bytes=10_000)) as http:
        response = await http.post(
            "/echo", content=raw.encode("utf-8", "surrogatepass"), headers={"Content-Type": "application/json"}
        )
        fine = await http.post("/echo", json={"a": "x", "n": 2**62, "f": 1.5})
    assert (response.status_code, response.json()["error"]) == (422, "invalid")
    assert fine.status_code == 200 and fine.json() == {"a": "x", "n": 2**62, "f": 1.5}


async def test_a_deadlock_or_a_lost_connection_answers_503_not_500():
    from sqlalchemy.exc import DBAPIError

    class Orig(Exception):
        def __init__(self, message: str, sqlstate: str | None = None) -> None:
            super().__init__(message)
            self.sqlstate = sqlstate

    app = make_app()

    @app.get("/deadlock")
    async def deadlock() -> None:
        raise DBAPIError("SELECT 1", {}, Orig("deadlock detected", "40P01"))

    @app.get("/lost")
    async def lost() -> None:
        raise DBAPIError("SELECT 1", {}, Orig("connection was closed in the middle of operation"))

    @app.get("/other")
    async def other() -> None:
        raise DBAPIError("SELECT 1", {}, Orig("syntax error", "42601"))

    async with client(app) as http:
        deadlock_answer = await http.get("/deadlock")
        lost_answer = await http.get("/lost")
        other_answer = await http.get("/other")
    assert (deadlock_answer.status_code, deadlock_answer.json()["error"]) == (503, "conflict_retry")
    assert (lost_answer.status_code, lost_answer.json()["error"]) == (503, "database_unavailable")
    assert lost_answer.headers["retry-after"] and other_answer.status_code == 500


async def test_a_chunked_json_body_is_checked_too():
    async def chunks():
        yield b'{"a": "x'
        yield b'\\u0000"}'

    async with client(make_app(max_body_bytes=10_000)) as http:
        response = await http.post("/echo", content=chunks(), headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["error"]) == (422, "invalid")
