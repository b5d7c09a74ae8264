"""The web app's sessions and front, without a browser: what Redis holds, expiry, revocation,
and clear errors when Redis or a service is away."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from skinguard_devstack.processes import free_port
from skinguard_webapp.app import create_app
from skinguard_webapp.session_store import Identity, SessionStore, SessionsUnavailable
from skinguard_webapp.settings import WebAppSettings
from support.apps import running, settings_from

IDENTITY = Identity("0b6f1f8e-0000-4000-8000-000000000001", "dr-a", "annotator")


@pytest.fixture
async def redis(servers):
    client = Redis.from_url(servers.env["SKINGUARD_REDIS_URL"])
    yield client
    async for key in client.scan_iter("webapp:session:*"):
        await client.delete(key)
    await client.aclose()


async def test_a_session_round_trips_and_redis_holds_neither_its_id_nor_the_key(redis):
    store = SessionStore(redis, idle_seconds=600, max_seconds=3600)
    session_id, made = await store.create(IDENTITY, "sg_secret-api-key")
    found = await store.get(session_id)
    assert found == made and found.api_key == "sg_secret-api-key" and found.identity == IDENTITY
    [key] = [key async for key in redis.scan_iter("webapp:session:*")]
    stored = await redis.get(key)
    assert b"sg_secret-api-key" not in stored and session_id.encode() not in key + stored
    assert 590 <= await redis.ttl(key) <= 600  # the idle timeout
    assert await store.get(session_id + "x") is None


async def test_revoked_and_expired_sessions_are_gone(redis):
    store = SessionStore(redis, idle_seconds=600, max_seconds=3600)
    session_id, _ = await store.create(IDENTITY, "sg_key")
    await store.revoke(session_id)
    assert await store.get(session_id) is None
    short = SessionStore(redis, idle_seconds=600, max_seconds=1)
    session_id, _ = await short.create(IDENTITY, "sg_key")
    await asyncio.sleep(1.1)
    assert await short.get(session_id) is None  # past the hard maximum, however active


async def test_an_unreachable_redis_is_a_503_not_a_500():
    store = SessionStore(Redis(port=free_port(), socket_connect_timeout=0.5), idle_seconds=600, max_seconds=3600)
    with pytest.raises(SessionsUnavailable) as raised:
        await store.create(IDENTITY, "sg_key")
    assert raised.value.status_code == 503


@pytest.fixture
async def webapp_without_services(servers):
    closed = f"http://127.0.0.1:{free_port()}"
    settings = settings_from(
        servers.env, WebAppSettings, annotation_url=closed, ingestion_url=closed, gateway_url=closed
    )
    async with running(create_app(settings)) as client:
        yield client


async def test_sign_in_answers_clearly_when_the_annotation_service_is_away(webapp_without_services):
    client = webapp_without_services
    answer = await client.post("/session", json={"api_key": "sg_anything"})
    assert answer.status_code == 503 and answer.json()["error"] == "upstream_unavailable"
    assert "retry-after" in answer.headers


@pytest.mark.parametrize(
    "body", [{}, {"api_key": ""}, {"api_key": "x" * 201}, {"api_key": "sg_x", "role": "admin"}, [1]]
)
async def test_bad_sign_in_bodies_are_422(webapp_without_services, body):
    answer = await webapp_without_services.post("/session", json=body)
    assert answer.status_code == 422 and answer.json()["error"] == "invalid"


async def test_without_a_session_the_front_and_pages_refuse_or_redirect(webapp_without_services):
    client = webapp_without_services
    api = await client.get("/api/annotation/datasets")
    assert api.status_code == 401 and api.json()["error"] == "no_session"
    page = await client.get("/datasets")
    assert page.status_code == 303 and page.headers["location"] == "/sign-in?next=/datasets"
    assert (await client.get("/no-such-screen")).status_code == 404
    sign_in = await client.get("/sign-in")
    assert sign_in.status_code == 200 and "script-src 'self'" in sign_in.headers["content-security-policy"]
    assert (await client.get("/static/js/main.js")).headers["content-type"].startswith("text/javascript")
    client.cookies.set("sg_session", "forged")
    forged = await client.get("/session")
    client.cookies.clear()
    assert forged.status_code == 401
