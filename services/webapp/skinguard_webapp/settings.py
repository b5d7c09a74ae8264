from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from skinguard_runtime.settings import CommonSettings


class WebAppSettings(CommonSettings):
    """The web app reaches the services only over their public HTTP APIs, and Redis for sessions."""

    uses: ClassVar[frozenset[str]] = frozenset({"redis"})

    webapp_host: str = "127.0.0.1"
    webapp_port: int = 8003
    annotation_url: str = "http://127.0.0.1:8002"
    ingestion_url: str = "http://127.0.0.1:8001"
    gateway_url: str = "http://127.0.0.1:8000"
    upstream_timeout_seconds: float = Field(30.0, gt=0)

    # A session ends after this long without a request, and in any case after session_max_seconds.
    session_idle_seconds: int = Field(2 * 3600, ge=60)
    session_max_seconds: int = Field(12 * 3600, ge=60)
    # Off only for a plain-HTTP deployment on a non-local host (browsers accept Secure cookies
    # over http://localhost and 127.0.0.1, so local runs keep it on).
    secure_cookies: bool = True
