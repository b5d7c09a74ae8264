"""The web app: ``create_app(settings)`` builds it; nothing is created at import.

Static pages and scripts (``static/``), sign-in sessions, and a thin front for the public APIs of
annotation, ingestion and the gateway's monitoring. It has no database of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from redis.asyncio import Redis

from skinguard_chassis.app import create_service_app

from . import __version__
from .pages import STATIC
from .pages import router as pages_router
from .security import SecurityHeadersMiddleware
from .session_routes import router as session_router
from .session_store import SessionStore
from .settings import WebAppSettings
from .upstreams import upstreams

MAX_BODY_BYTES = 11 * 1024 * 1024  # a photo upload of at most 10 MiB with its form fields


def create_app(settings: WebAppSettings | None = None) -> FastAPI:
    settings = settings or WebAppSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        app.state.sessions = SessionStore(
            redis, idle_seconds=settings.session_idle_seconds, max_seconds=settings.session_max_seconds
        )
        app.state.redis = redis
        async with httpx.AsyncClient(timeout=settings.upstream_timeout_seconds) as client:
            app.state.http = client
            try:
                yield
            finally:
                await redis.aclose()

    async def redis_answers() -> None:
        await app.state.redis.ping()

    app = create_service_app(
        name="webapp",
        version=__version__,
        description="The clinicians' web app: labelling, adjudication, datasets, training, models, monitoring.",
        lifespan=lifespan,
        readiness_checks=lambda _: {"redis": redis_answers},
        max_body_bytes=MAX_BODY_BYTES,
        docs=False,
    )
    app.state.settings = settings
    app.state.upstreams = upstreams(settings)
    app.include_router(session_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages_router)  # last: its /{screen} pattern would shadow the rest
    app.add_middleware(SecurityHeadersMiddleware, strict_transport=settings.secure_cookies)
    return app
