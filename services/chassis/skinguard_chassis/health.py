"""Liveness (``/healthz``) and readiness (``/readyz``) endpoints.

Readiness runs every dependency check concurrently with a timeout and answers 503 naming
the failing dependency, so an orchestrator stops routing to an instance that cannot serve.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse

Check = Callable[[], Awaitable[object]]


async def _run(check: Check, limit_seconds: float) -> str:
    # Not ``wait_for``: it waits for the cancelled check to wind down (a database connect being
    # abandoned can take seconds more); the answer must come at the limit.
    task = asyncio.ensure_future(check())
    done, _ = await asyncio.wait({task}, timeout=limit_seconds)
    if not done:
        task.cancel()
        task.add_done_callback(lambda finished: finished.cancelled() or finished.exception())
        return "timeout"
    error = task.exception()
    if error is not None:  # any failure means "not ready"; the reason is reported
        return f"error: {type(error).__name__}: {error}"[:300]
    return "ok"


def health_router(checks: Callable[[], Mapping[str, Check]], *, timeout: float = 3.0) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: every dependency answers")
    async def readyz() -> JSONResponse:
        named = dict(checks())
        results = await asyncio.gather(*(_run(check, timeout) for check in named.values()))
        report = dict(zip(named, results, strict=True))
        ready = all(result == "ok" for result in results)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": report},
            status_code=200 if ready else 503,
        )

    return router
