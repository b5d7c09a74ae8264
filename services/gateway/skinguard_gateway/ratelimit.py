"""Per-client rate limits: a fixed one-minute window counted in Redis, or in this process while Redis is down."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from fastapi import Request
from redis.asyncio import Redis

from .errors import RateLimited
from .metrics import GatewayMetrics
from .optional_redis import OptionalRedis

WINDOW_SECONDS = 60
KEY_PREFIX = "skinguard:gateway:rate:"


class RateLimiter:
    def __init__(
        self,
        redis: OptionalRedis,
        metrics: GatewayMetrics,
        *,
        limit_per_minute: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._metrics = metrics
        self._limit = limit_per_minute
        self._clock = clock
        self._local_window = -1
        self._local_counts: dict[str, int] = {}

    async def check(self, client: str) -> None:
        """Count a request of ``client``; raise ``RateLimited`` (429) once it is over the limit."""
        if not self._limit:
            return
        now = self._clock()
        window = int(now // WINDOW_SECONDS)
        key = f"{KEY_PREFIX}{client}:{window}"
        count = await self._redis.call("rate_limit", lambda redis: _count_in_redis(redis, key))
        if count is None:
            count = self._count_locally(client, window)
        if count > self._limit:
            self._metrics.rate_limited.inc()
            retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
            raise RateLimited(
                f"Too many requests: at most {self._limit} a minute. Try again in {retry_after} s.",
                retry_after=retry_after,
            )

    def _count_locally(self, client: str, window: int) -> int:
        if window != self._local_window:
            self._local_window, self._local_counts = window, {}
        self._local_counts[client] = self._local_counts.get(client, 0) + 1
        return self._local_counts[client]


async def _count_in_redis(redis: Redis, key: str) -> int:
    async with redis.pipeline(transaction=True) as pipeline:
        pipeline.incr(key)
        pipeline.expire(key, WINDOW_SECONDS + 1)
        count, _ = await pipeline.execute()
    return count


async def enforce_rate_limit(request: Request) -> None:
    """Dependency of the public endpoints; the client is its address (proxy headers applied by uvicorn)."""
    client = request.client.host if request.client else "unknown"
    await request.app.state.rate_limiter.check(client)
