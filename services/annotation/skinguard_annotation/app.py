"""The annotation service: ``create_app(settings)`` builds it; nothing is created at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis import Redis

from skinguard_chassis.app import create_service_app
from skinguard_chassis.sessions import attach_database, table_ready
from skinguard_chassis.whoami import router as whoami_router
from skinguard_runtime.storage import S3ObjectStore

from . import __version__
from .datasets.router import router as datasets_router
from .labels.router import router as labels_router
from .model_registry.router import router as training_router
from .model_registry.service import QueueClient, queue_sender
from .settings import AnnotationSettings

MAX_BODY_BYTES = 1024 * 1024


def create_app(settings: AnnotationSettings | None = None) -> FastAPI:
    settings = settings or AnnotationSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with attach_database(
            app,
            settings.database_url,
            pool_size=settings.database_pool_size,
            timeout_seconds=settings.database_timeout_seconds,
        ):
            app.state.store = S3ObjectStore(settings)
            wait = settings.queue_timeout_seconds
            redis = Redis.from_url(settings.redis_url, socket_timeout=wait, socket_connect_timeout=wait)
            app.state.queue = QueueClient(queue_sender(settings.redis_url, wait), redis)
            try:
                yield
            finally:
                redis.close()

    app = create_service_app(
        name="annotation",
        version=__version__,
        description="Labels from many annotators, consensus, agreement and leakage-free dataset versions.",
        lifespan=lifespan,
        readiness_checks=lambda app: {
            "database": table_ready(app, "image_annotations"),
            "object_store": app.state.store.ping,
        },
        max_body_bytes=MAX_BODY_BYTES,
        docs=settings.env != "prod",
    )
    app.state.settings = settings
    app.include_router(labels_router)
    app.include_router(whoami_router)
    app.include_router(datasets_router)
    app.include_router(training_router)
    return app
