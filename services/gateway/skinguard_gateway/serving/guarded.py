"""A ``ModelClient`` wrapper: every call bounded by the deadline, timed and its failures counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import numpy as np

from skinguard_contracts.errors import AppError

from ..errors import ServingTimeout
from ..metrics import GatewayMetrics
from .client import ModelClient, ModelRef, Prediction, ServedModel

T = TypeVar("T")


class GuardedModelClient:
    """The deadline holds even for a client that ignores it (the gRPC one also sends it to the server)."""

    def __init__(self, client: ModelClient, *, deadline_seconds: float, metrics: GatewayMetrics) -> None:
        self._client = client
        self._deadline = deadline_seconds
        self._metrics = metrics

    async def describe(self, ref: ModelRef) -> ServedModel:
        return await self._call("GetModelMetadata", lambda: self._client.describe(ref))

    async def predict(self, model: ServedModel, pixels: np.ndarray) -> Prediction:
        return await self._call("Predict", lambda: self._client.predict(model, pixels))

    async def available_versions(self, name: str) -> set[int]:
        return await self._call("GetModelStatus", lambda: self._client.available_versions(name))

    async def close(self) -> None:
        await self._client.close()

    async def _call(self, method: str, call: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._deadline):
                return await call()
        except TimeoutError as error:
            self._metrics.serving_errors.labels(method, ServingTimeout.code).inc()
            raise ServingTimeout("the model server did not answer in time; retry shortly") from error
        except AppError as error:
            self._metrics.serving_errors.labels(method, error.code).inc()
            raise
        finally:
            self._metrics.serving_latency.labels(method).observe(time.perf_counter() - started)
