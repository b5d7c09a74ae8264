"""Every route of the web app with who may call it: with no session each answers 401 (API and
session) or a redirect to sign-in (pages); a signed-in role opens exactly its screens, and the
API front passes its calls on (the services then apply their own route table,
tests/security/test_route_table.py)."""

from __future__ import annotations

import pytest

from skinguard_devstack.processes import free_port
from skinguard_webapp.app import create_app
from skinguard_webapp.screens import SCREENS
from skinguard_webapp.session_routes import COOKIE
from skinguard_webapp.session_store import Identity
from skinguard_webapp.settings import WebAppSettings
from support.apps import running, settings_from

ROLES = ("uploader", "annotator", "importer", "admin")
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/sign-in"), ("POST", "/session")}
SESSION = {("GET", "/session"), ("DELETE", "/session")}
API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PAGES = ("/", "/{screen}", "/{screen}/{rest}")


@pytest.fixture
async def webapp(servers):
    closed = f"http://127.0.0.1:{free_port()}"  # the services are away: the front answers 503
    settings = settings_from(
        servers.env, WebAppSettings, annotation_url=closed, ingestion_url=closed, gateway_url=closed
    )
    app = create_app(settings)
    async with running(app) as client:
        yield app, client


async def test_without_a_session_nothing_but_sign_in_is_reachable(webapp):
    _, client = webapp
    for method, path in PUBLIC - {("POST", "/session")}:
        assert (await client.request(method, path)).status_code == 200, path
    for method, path in SESSION:
        answer = await client.request(method, path)
        assert answer.status_code == 401 and answer.json()["error"] == "no_session", (method, path)
    for method in API_METHODS:
        answer = await client.request(method, "/api/annotation/datasets")
        assert answer.status_code == 401 and answer.json()["error"] == "no_session", method
    for screen in SCREENS:
        for path in (f"/{screen.path}", f"/{screen.path}/x"):
            answer = await client.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in"), path
    assert (await client.get("/")).headers["location"] == "/sign-in"


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_opens_its_screens_and_reaches_the_api_front(webapp, role):
    app, client = webapp
    session_id, session = await app.state.sessions.create(Identity("u-" + role, role, role), "sg_key")
    client.cookies.set(COOKIE, session_id)
    try:
        for screen in SCREENS:
            expected = 200 if role in screen.roles else 403
            assert (await client.get(f"/{screen.path}")).status_code == expected, (role, screen.path)
        assert (await client.get("/session")).json()["user"]["role"] == role
        for method in API_METHODS:
            headers = {"x-csrf-token": session.csrf_token}
            answer = await client.request(method, "/api/annotation/datasets", headers=headers)
            assert answer.status_code == 503 and answer.json()["error"] == "upstream_unavailable", method
    finally:
        client.cookies.clear()
        await app.state.sessions.revoke(session_id)
