"""Rate limits per real client: only the proxy's own X-Forwarded-For counts.

The attack: a client sends a new X-Forwarded-For with every request so that each one looks like
another client. nginx now replaces the header with the peer's address, and the services trust
forwarded headers from nginx's address only (uvicorn's ``forwarded_allow_ips``, as compose
sets it); both halves are checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import yaml
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from skinguard_gateway.app import create_app
from support.apps import running
from support.images import jpeg
from support.model_server_double import InMemoryModelClient

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
PROXY = "172.28.0.10"


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_nginx_replaces_a_client_sent_x_forwarded_for() -> None:
    conf = (REPO / "deploy" / "nginx" / "skinguard.conf").read_text()
    assert re.search(r"proxy_set_header\s+X-Forwarded-For\s+\$remote_addr;", conf)
    assert "$proxy_add_x_forwarded_for" not in conf


def test_compose_trusts_forwarded_headers_from_nginx_only() -> None:
    services = compose()["services"]
    nginx = services["nginx"]["networks"]["default"]["ipv4_address"]
    assert nginx == PROXY
    behind = {name: service.get("environment", {}).get("FORWARDED_ALLOW_IPS") for name, service in services.items()}
    assert {name: value for name, value in behind.items() if value} == {
        "ingestion": PROXY,
        "annotation": PROXY,
        "gateway": PROXY,
        "webapp": PROXY,  # the web app's own view of the browser's address (its session front)
    }


async def predict(app, peer: str, forwarded_for: str | None = None) -> int:
    transport = httpx.ASGITransport(app=ProxyHeadersMiddleware(app, trusted_hosts=[PROXY]), client=(peer, 40000))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.post(
            "/predict", files={"file": ("p.jpg", jpeg(320, 240, seed=3), "image/jpeg")}, headers=headers
        )
    return response.status_code


async def test_a_spoofed_x_forwarded_for_does_not_reset_the_rate_limit(gateway_settings, clean_state) -> None:
    app = create_app(gateway_settings.model_copy(update={"rate_limit_per_minute": 2}), model_client=_served())
    async with running(app):
        statuses = [await predict(app, "203.0.113.5", forwarded_for=f"198.51.100.{n}") for n in range(3)]
    assert statuses == [200, 200, 429]


async def test_clients_behind_the_proxy_each_get_their_allowance(gateway_settings, clean_state) -> None:
    app = create_app(gateway_settings.model_copy(update={"rate_limit_per_minute": 2}), model_client=_served())
    async with running(app):
        first = [await predict(app, PROXY, forwarded_for="198.51.100.1") for _ in range(3)]
        second = [await predict(app, PROXY, forwarded_for="198.51.100.2") for _ in range(2)]
    assert first == [200, 200, 429] and second == [200, 200]


def _served() -> InMemoryModelClient:
    client = InMemoryModelClient()
    client.serve(1)
    return client
