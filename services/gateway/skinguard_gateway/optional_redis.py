"""Redis as an optimisation: when it fails, the gateway goes on without it.

A failed call returns None (logged, counted) and Redis is left alone for a short pause, so an
outage costs each request nothing rather than a timeout per call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from .metrics import GatewayMetrics

logger = logging.getLogger(__name__)

T = TypeVar("T")


class OptionalRedis:
    def __init__(self, client: Redis, metrics: GatewayMetrics, *, pause_seconds: float = 1.0) -> None:
        self._client = client
        self._metrics = metrics
        self._pause = pause_seconds
        self._down_since: float | None = None

    @classmethod
    def from_url(cls, url: str, metrics: GatewayMetrics, *, timeout_seconds: float) -> OptionalRedis:
        client = Redis.from_url(
            url,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 1),  # one reconnect after a dropped connection, no waiting
        )
        return cls(client, metrics)

    async def call(self, operation: str, run: Callable[[Redis], Awaitable[T]]) -> T | None:
        """``run(redis)``, or None when Redis fails or failed less than a pause ago."""
        if self._down_since is not None and time.monotonic() - self._down_since < self._pause:
            return None
        try:
            result = await run(self._client)
        except (RedisError, OSError) as error:
            self._metrics.redis_errors.labels(operation).inc()
            if self._down_since is None:
                logger.error("Redis is unavailable; serving without cache and shared rate limits: %s", error)
            self._down_since = time.monotonic()
            return None
        if self._down_since is not None:
            logger.info("Redis is back")
            self._down_since = None
        return result

    async def close(self) -> None:
        await self._client.aclose()
