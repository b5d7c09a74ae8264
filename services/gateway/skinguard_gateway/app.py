"""The gateway: ``create_app(settings)`` builds it; nothing is created at import.

No TensorFlow here or below: the model server is reached over gRPC with ``skinguard_protos``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from skinguard_chassis.app import create_service_app
from skinguard_chassis.sessions import attach_database, table_ready
from skinguard_contracts.errors import AppError
from skinguard_runtime.storage import S3ObjectStore

from . import __version__
from .cache import PredictionCache, rules_fingerprint
from .devices.router import router as devices_router
from .devices.service import DeviceModels
from .feedback.router import router as feedback_router
from .metrics import GatewayMetrics
from .monitoring.router import router as monitoring_router
from .optional_redis import OptionalRedis
from .predictions.log_writer import PredictionLogWriter
from .predictions.router import router as predictions_router
from .predictions.service import Predictor
from .ratelimit import RateLimiter
from .serving.client import ModelClient
from .serving.grpc_client import GrpcModelClient
from .serving.guarded import GuardedModelClient
from .serving.public_card import PublicCards
from .serving.tracker import ModelTracker
from .serving.version_metadata import VersionMetadataCache
from .settings import GatewaySettings

BODY_OVERHEAD_BYTES = 64 * 1024  # multipart framing, JSON around base64
METADATA_READ_TIMEOUT_SECONDS = 5.0


def create_app(settings: GatewaySettings | None = None, *, model_client: ModelClient | None = None) -> FastAPI:
    """``model_client`` replaces the gRPC client to the model server (tests); the caller then owns it."""
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        metrics: GatewayMetrics = app.state.gateway_metrics
        async with contextlib.AsyncExitStack() as resources:
            await resources.enter_async_context(
                attach_database(
                    app,
                    settings.database_url,
                    pool_size=settings.database_pool_size,
                    timeout_seconds=settings.database_timeout_seconds,
                )
            )
            client = model_client or GrpcModelClient.connect(
                settings.serving_target,
                deadline_seconds=settings.serving_deadline_seconds,
                max_message_bytes=settings.serving_max_message_bytes,
            )
            if model_client is None:
                resources.push_async_callback(client.close)
            guarded = GuardedModelClient(client, deadline_seconds=settings.serving_deadline_seconds, metrics=metrics)
            redis = OptionalRedis.from_url(settings.redis_url, metrics, timeout_seconds=settings.redis_timeout_seconds)
            resources.push_async_callback(redis.close)
            store = S3ObjectStore(settings)
            metadata = VersionMetadataCache(store, timeout_seconds=METADATA_READ_TIMEOUT_SECONDS)
            app.state.public_cards = PublicCards(store, timeout_seconds=METADATA_READ_TIMEOUT_SECONDS)
            app.state.device_models = DeviceModels(store, metadata, app.state.public_cards)
            tracker = ModelTracker(guarded, settings.model_ref, metadata, metrics)
            app.state.tracker = tracker
            app.state.rate_limiter = RateLimiter(redis, metrics, limit_per_minute=settings.rate_limit_per_minute)
            # Written in batches off the request path; closed (every queued row written) before the database.
            prediction_log = PredictionLogWriter(app.state.sessionmaker, metrics)
            prediction_log.start()
            resources.push_async_callback(prediction_log.close)
            app.state.prediction_log = prediction_log
            rules = rules_fingerprint(settings.image_limits, settings.usability)
            app.state.predictor = Predictor(
                tracker=tracker,
                client=guarded,
                cache=PredictionCache(redis, metrics, ttl_seconds=settings.cache_ttl_seconds, rules=rules),
                log=prediction_log,
                metrics=metrics,
                limits=settings.image_limits,
                usability=settings.usability,
                feedback_key=settings.feedback_key.get_secret_value(),
            )
            with contextlib.suppress(AppError):  # the gateway starts without a model, and answers 503
                await tracker.refresh()
            resources.push_async_callback(_stop, asyncio.create_task(tracker.follow(settings.model_refresh_seconds)))
            yield

    app = create_service_app(
        name="gateway",
        version=__version__,
        description=(
            "The mobile prediction API: validates and preprocesses photos as training did, asks "
            "TensorFlow Serving over gRPC, caches answers per model version, records feedback."
        ),
        lifespan=lifespan,
        readiness_checks=lambda app: {
            "database": table_ready(app, "prediction_feedback"),
            "serving": app.state.tracker.ready,
        },
        # base64 (/predict_base64) makes the largest accepted image 4/3 bigger.
        max_body_bytes=math.ceil(settings.max_upload_bytes * 4 / 3) + BODY_OVERHEAD_BYTES,
        docs=settings.env != "prod",
    )
    app.state.settings = settings
    app.state.gateway_metrics = GatewayMetrics(app.state.registry)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "If-None-Match"],
            expose_headers=["X-Request-ID", "Retry-After", "ETag"],
            max_age=600,
        )
    app.include_router(predictions_router)
    app.include_router(feedback_router)
    app.include_router(monitoring_router)
    app.include_router(devices_router)
    return app


async def _stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
