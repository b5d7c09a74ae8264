"""The ingestion service: ``create_app(settings)`` builds it; nothing is created at import."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter

from skinguard_chassis.app import create_service_app
from skinguard_chassis.sessions import attach_database, table_ready
from skinguard_chassis.whoami import router as whoami_router
from skinguard_runtime.storage import S3ObjectStore

from . import __version__
from .images.orphans import keep_sweeping
from .images.router import router as images_router
from .settings import IngestionSettings

MULTIPART_OVERHEAD_BYTES = 64 * 1024


class IngestionMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.uploads = Counter("skinguard_uploads_total", "Uploads by outcome", ["outcome"], registry=registry)
        self.rejections = Counter(
            "skinguard_upload_rejections_total", "Refused or failed uploads by reason", ["reason"], registry=registry
        )


def create_app(settings: IngestionSettings | None = None) -> FastAPI:
    settings = settings or IngestionSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with attach_database(
            app,
            settings.database_url,
            pool_size=settings.database_pool_size,
            timeout_seconds=settings.database_timeout_seconds,
        ):
            app.state.store = S3ObjectStore(settings)
            sweeper = asyncio.create_task(
                keep_sweeping(
                    app.state.sessionmaker,
                    app.state.store,
                    every_seconds=settings.orphan_sweep_seconds,
                    grace_seconds=settings.orphan_grace_seconds,
                )
            )
            try:
                yield
            finally:
                sweeper.cancel()

    app = create_service_app(
        name="ingestion",
        version=__version__,
        description="Lesion photo intake: validation, quality metrics, metadata stripping, dedup.",
        lifespan=lifespan,
        readiness_checks=lambda app: {
            "database": table_ready(app, "training_images"),
            "object_store": app.state.store.ping,
        },
        max_body_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
        docs=settings.env != "prod",
    )
    app.state.settings = settings
    app.state.ingestion_metrics = IngestionMetrics(app.state.registry)
    app.include_router(images_router)
    app.include_router(whoami_router)
    return app
