"""Run a service app in-process against the test servers: lifespan entered, httpx client attached."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx
from fastapi import FastAPI
from pydantic_settings import BaseSettings

SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def settings_from(env: dict[str, str], cls: type[SettingsT], **overrides) -> SettingsT:
    fields = {key.removeprefix("SKINGUARD_").lower(): value for key, value in env.items()}
    return cls(**{**fields, "log_json": False, **overrides})


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
            yield client


async def fetch(url: str) -> httpx.Response:
    """GET a real URL (presigned S3 links) without blocking the event loop."""
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.get(url)
