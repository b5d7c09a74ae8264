"""Predictions cached in Redis by image content and the model version that computed them.

Each answer is cached under two keys, both with the model name and version:
- the upload's own bytes (SHA-256 of exactly what was received), with the class probabilities
  and the photo's quality figures: looked up before the photo is decoded, so a repeated upload
  is answered without decoding it. Such an entry is written only after those very bytes passed
  validation and the usability checks and that version answered them; the key also carries a
  fingerprint of the validation rules (limits, thresholds, ``RULES_VERSION``), so a gateway with
  other rules never takes another's word that the bytes pass;
- the sanitized bytes (``prepare_image``'s SHA-256: no metadata, orientation applied), with the
  probabilities: after validation, the same pixels uploaded with other metadata.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

from .metrics import GatewayMetrics
from .optional_redis import OptionalRedis

KEY_PREFIX = "skinguard:gateway:prediction:"
# Bump when what validation or the usability checks accept changes in code (their settings are
# in the fingerprint already): uploads cached under the old rules are then validated again.
RULES_VERSION = 1

Probabilities = tuple[float, float]  # benign, malignant
# What the answer shows of the photo: width, height, file size, blur, brightness, contrast.
Quality = tuple[int, int, int, float, float, float]


def cache_key(model_name: str, version: int, sha256: str) -> str:
    """The sanitized image's key: its value is ``[benign, malignant]``."""
    return f"{KEY_PREFIX}{model_name}:{version}:{sha256}"


def upload_key(rules: str, model_name: str, version: int, sha256: str) -> str:
    """The received bytes' key, under the validation rules' fingerprint: ``{"p": [...], "q": [...]}``."""
    return f"{KEY_PREFIX}upload:{rules}:{model_name}:{version}:{sha256}"


def rules_fingerprint(*rules: object) -> str:
    """A short digest of the validation settings (frozen dataclasses: their repr lists every field)."""
    text = repr((RULES_VERSION, *rules))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class CachedUpload:
    probabilities: Probabilities
    quality: Quality


class PredictionCache:
    """Without Redis, every lookup misses and nothing is stored."""

    def __init__(self, redis: OptionalRedis, metrics: GatewayMetrics, *, ttl_seconds: int, rules: str) -> None:
        self._redis = redis
        self._metrics = metrics
        self._ttl = ttl_seconds
        self._rules = rules

    async def get_upload(self, model_name: str, version: int, sha256: str) -> CachedUpload | None:
        """The answer for these exact received bytes, validated under these rules (no metric: see ``count``)."""
        key = upload_key(self._rules, model_name, version, sha256)
        stored = await self._redis.call("cache_get", lambda redis: redis.get(key))
        if stored is None:
            return None
        try:
            value = orjson.loads(stored)
            (benign, malignant), quality = value["p"], value["q"]
            width, height, size, blur, brightness, contrast = quality
            return CachedUpload(
                (float(benign), float(malignant)),
                (int(width), int(height), int(size), float(blur), float(brightness), float(contrast)),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None  # not an entry this code wrote: validate and answer afresh

    async def get(self, model_name: str, version: int, sha256: str) -> Probabilities | None:
        """The probabilities for these sanitized pixels."""
        key = cache_key(model_name, version, sha256)
        stored = await self._redis.call("cache_get", lambda redis: redis.get(key))
        if stored is None:
            return None
        try:
            benign, malignant = orjson.loads(stored)
            return float(benign), float(malignant)
        except (orjson.JSONDecodeError, TypeError, ValueError):
            return None

    def count(self, *, hit: bool) -> None:
        """One per prediction: answered from either key, or computed."""
        self._metrics.cache.labels("hit" if hit else "miss").inc()

    async def put(
        self,
        model_name: str,
        version: int,
        *,
        upload_sha256: str | None,
        pixels_sha256: str | None,
        probabilities: Probabilities,
        quality: Quality,
    ) -> None:
        """Store the answer under the received bytes' key and/or the sanitized bytes' key (one round trip)."""
        entries: list[tuple[str, bytes]] = []
        if upload_sha256 is not None:
            value = orjson.dumps({"p": probabilities, "q": quality})
            entries.append((upload_key(self._rules, model_name, version, upload_sha256), value))
        if pixels_sha256 is not None:
            entries.append((cache_key(model_name, version, pixels_sha256), orjson.dumps(probabilities)))
        if entries:
            await self._redis.call("cache_set", lambda redis: _set_all(redis, entries, self._ttl))


async def _set_all(redis: Redis, entries: list[tuple[str, bytes]], ttl: int) -> None:
    async with redis.pipeline(transaction=False) as pipeline:
        for key, value in entries:
            pipeline.set(key, value, ex=ttl)
        await pipeline.execute()
