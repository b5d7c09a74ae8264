"""The one shape of every SkinGuard HTTP service: errors, request ids, metrics and health."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from skinguard_contracts.errors import AppError
from skinguard_database import connection_lost

from .health import Check, health_router
from .http import BodySizeLimitMiddleware, RequestIdMiddleware, ReturnMemoryMiddleware
from .http_metrics import HttpMetrics, MetricsMiddleware, metrics_router
from .storable import StorableInputMiddleware

logger = logging.getLogger("skinguard.http")

ERROR_SCHEMA = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
                "required": ["error", "detail"],
            }
        }
    }
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the error statuses an endpoint can answer."""
    return {status: {"description": "Error", **ERROR_SCHEMA} for status in statuses}


def _error(status: int, code: str, detail: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=dict(headers or {}))


def _describe_validation(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
    return "; ".join(parts) or "invalid request"


_CONNECTION_LOSS = (
    "connection was closed",
    "connection is closed",
    "terminating connection",
    "cannot perform operation",
)


def _is_connection_loss(error: DBAPIError) -> bool:
    text = str(error.orig).lower()
    return any(sign in text for sign in _CONNECTION_LOSS)


_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock: the transaction may be retried


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_: Request, error: AppError) -> JSONResponse:
        return _error(error.status_code, error.code, error.message, error.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid", _describe_validation(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return _error(error.status_code, code, str(error.detail), error.headers)

    async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        # Close the connection cleanly: the client must not reuse one whose state is unknown.
        return _error(500, "internal_error", "internal server error; see the service logs", {"Connection": "close"})

    async def database_unavailable(_: Request, error: Exception) -> JSONResponse:
        logger.error("database unavailable: %s", error)
        return _error(503, "database_unavailable", "the database is unavailable; retry shortly", {"Retry-After": "5"})

    async def maybe_database_unavailable(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, DBAPIError)
        if connection_lost(error):
            return await database_unavailable(request, error)
        if getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
            logger.warning("transaction conflict: %s", error)
            return _error(503, "conflict_retry", "a concurrent change got in the way; retry", {"Retry-After": "1"})
        return await unexpected_error(request, error)

    async def timed_out(_: Request, error: Exception) -> JSONResponse:
        logger.error("a dependency timed out: %s", error)
        return _error(503, "timeout", "a dependency did not answer in time; retry shortly", {"Retry-After": "5"})

    # A lost connection ("closed in the middle of operation") or a refused one: 503.
    for error_type in (OperationalError, InterfaceError, ConnectionError):
        app.add_exception_handler(error_type, database_unavailable)
    app.add_exception_handler(DBAPIError, maybe_database_unavailable)
    app.add_exception_handler(TimeoutError, timed_out)
    app.add_exception_handler(Exception, unexpected_error)


def create_service_app(
    *,
    name: str,
    version: str,
    description: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    readiness_checks: Callable[[FastAPI], Mapping[str, Check]],
    max_body_bytes: int,
    docs: bool = True,
) -> FastAPI:
    """``docs=False`` (production) serves no OpenAPI document or docs pages: no map of the API
    for whoever reaches the service."""
    app = FastAPI(
        title=f"SkinGuard {name}",
        version=version,
        description=description,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.registry = CollectorRegistry()
    install_error_handlers(app)
    app.include_router(health_router(lambda: readiness_checks(app)))
    app.include_router(metrics_router(app.state.registry))
    app.add_middleware(StorableInputMiddleware)  # inside the size limit: it buffers small JSON bodies
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(ReturnMemoryMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(app.state.registry, name))
    app.add_middleware(RequestIdMiddleware)
    return app
