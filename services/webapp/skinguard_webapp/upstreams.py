"""The public APIs the browser reaches through this app, each with the caller's own API key.

``/api/annotation/<rest>`` -> annotation ``/api/<rest>``, ``/api/ingestion/<rest>`` -> ingestion
``/api/<rest>``, ``/api/monitoring/<rest>`` -> gateway ``/monitoring/<rest>``. Nothing else of
the services (metrics, health, docs) is reachable, and the browser never sees a key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from skinguard_contracts.errors import ServiceUnavailable

from .settings import WebAppSettings

# Request headers passed on; everything else (cookies above all) stays here.
_FORWARDED_REQUEST = ("content-type", "content-length", "accept", "x-request-id")
_FORWARDED_RESPONSE = (
    "content-type",
    "content-length",
    "content-disposition",
    "retry-after",
    "etag",
    "last-modified",
    "x-request-id",
)


@dataclass(frozen=True)
class Upstream:
    base_url: str
    path_prefix: str  # what the browser's <rest> is appended to


def upstreams(settings: WebAppSettings) -> dict[str, Upstream]:
    return {
        "annotation": Upstream(settings.annotation_url, "/api/"),
        "ingestion": Upstream(settings.ingestion_url, "/api/"),
        "monitoring": Upstream(settings.gateway_url, "/monitoring/"),
    }


class UpstreamUnavailable(ServiceUnavailable):
    def __init__(self, service: str) -> None:
        super().__init__(f"the {service} service did not answer; retry shortly", code="upstream_unavailable")


async def forward(
    client: httpx.AsyncClient, upstream: Upstream, service: str, rest: str, request: Request, api_key: str
) -> StreamingResponse:
    """Send the browser's request on with ``api_key``; stream the answer back as it comes."""
    headers = {name: request.headers[name] for name in _FORWARDED_REQUEST if name in request.headers}
    headers["authorization"] = f"Bearer {api_key}"
    if request.client is not None:
        headers["x-forwarded-for"] = request.client.host
    body = request.stream() if request.method in ("POST", "PUT", "PATCH") else None
    outgoing = client.build_request(
        request.method,
        upstream.base_url + upstream.path_prefix + rest,
        params=str(request.query_params),
        headers=headers,
        content=body,
    )
    try:
        answer = await client.send(outgoing, stream=True)
    except (httpx.TransportError, httpx.TimeoutException) as error:
        raise UpstreamUnavailable(service) from error

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in answer.aiter_raw():
            yield chunk

    kept = {name: answer.headers[name] for name in _FORWARDED_RESPONSE if name in answer.headers}
    kept.setdefault("cache-control", "private, no-store")
    if "cache-control" in answer.headers and answer.headers.get("content-type", "").startswith("image/"):
        kept["cache-control"] = answer.headers["cache-control"]
    return StreamingResponse(
        chunks(), status_code=answer.status_code, headers=kept, background=BackgroundTask(answer.aclose)
    )
