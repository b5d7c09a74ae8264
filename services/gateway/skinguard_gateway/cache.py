"""Predictions cached in Redis by image content and the model version that computed them."""

from __future__ import annotations

import json

from .metrics import GatewayMetrics
from .optional_redis import OptionalRedis

KEY_PREFIX = "skinguard:gateway:prediction:"


def cache_key(model_name: str, version: int, sha256: str) -> str:
    return f"{KEY_PREFIX}{model_name}:{version}:{sha256}"


class PredictionCache:
    """Class probabilities by ``(image SHA-256, model name, version)``; without Redis, every lookup misses."""

    def __init__(self, redis: OptionalRedis, metrics: GatewayMetrics, *, ttl_seconds: int) -> None:
        self._redis = redis
        self._metrics = metrics
        self._ttl = ttl_seconds

    async def get(self, model_name: str, version: int, sha256: str) -> tuple[float, float] | None:
        stored = await self._redis.call("cache_get", lambda redis: redis.get(cache_key(model_name, version, sha256)))
        self._metrics.cache.labels("miss" if stored is None else "hit").inc()
        if stored is None:
            return None
        benign, malignant = json.loads(stored)
        return float(benign), float(malignant)

    async def put(self, model_name: str, version: int, sha256: str, probabilities: tuple[float, float]) -> None:
        key, value = cache_key(model_name, version, sha256), json.dumps(list(probabilities))
        await self._redis.call("cache_set", lambda redis: redis.set(key, value, ex=self._ttl))
