"""Which model version the gateway serves: the one its label points to, followed as it moves.

The tracker asks the model server every ``model_refresh_seconds`` (and at once when a request
finds its version gone) which version the label resolves to, and reads that version's card
before switching to it. Requests then ask for exactly that version, and cache under it, so an
answer and its cache entry always name the version that computed them: a newly promoted
version never serves an older version's cached result.
"""

from __future__ import annotations

import asyncio
import logging
import time

from skinguard_contracts.errors import AppError
from skinguard_contracts.model_files import ModelMetadata

from ..errors import ModelUnavailable, ServingFailed
from ..metrics import GatewayMetrics
from .client import ModelClient, ModelRef, ServedModel
from .version_metadata import VersionMetadataCache

logger = logging.getLogger(__name__)

# Answers about the model itself (no such label or version, an unusable signature): stop using it.
# Other failures (unreachable, too slow) may pass; requests find out for themselves.
_DEFINITIVE = (ModelUnavailable, ServingFailed)


class ModelTracker:
    def __init__(
        self,
        client: ModelClient,
        ref: ModelRef,
        metadata: VersionMetadataCache,
        metrics: GatewayMetrics,
        *,
        retry_after_failure_seconds: float = 1.0,
    ) -> None:
        self._client = client
        self._ref = ref
        self._metadata = metadata
        self._metrics = metrics
        self._retry_after = retry_after_failure_seconds
        self._current: ServedModel | None = None
        self._failure: AppError | None = None
        self._failed_at = float("-inf")
        self._lock = asyncio.Lock()
        metrics.model_version.labels(ref.name).set(0)

    @property
    def current(self) -> ServedModel | None:
        return self._current

    @property
    def healthy(self) -> bool:
        """A version is served and the last call to the model server (a refresh or a request's
        Predict) succeeded."""
        return self._current is not None and self._failure is None

    def metadata(self, name: str, version: int) -> ModelMetadata:
        return self._metadata.get(name, version)

    async def get(self) -> ServedModel:
        """The served version; asks the server when none is known, at most once a second while that fails."""
        if self._current is not None:
            return self._current
        if self._failure is not None and time.monotonic() - self._failed_at < self._retry_after:
            raise self._failure.with_traceback(None)
        return await self.refresh()

    async def refresh(self, *, replacing: ServedModel | None = None) -> ServedModel:
        """Ask the model server which version to serve now.

        With ``replacing`` (a version a request found gone), a refresh that already moved past it
        while this call waited counts: many requests failing at once cause one refresh.
        """
        async with self._lock:
            if replacing is not None and self._current not in (None, replacing):
                return self._current
            try:
                model = await self._client.describe(self._ref)
            except AppError as error:
                self._record_failure(error)
                raise
            await self._metadata.load(model)
            self._switch_to(model)
            return model

    async def follow(self, interval_seconds: float) -> None:
        """Refresh forever (a lifespan task)."""
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                await self.refresh()
            except AppError:
                pass  # recorded and logged by refresh
            except Exception:
                logger.exception("refreshing the served model version failed unexpectedly")

    async def ready(self) -> None:
        """Readiness: the served version is AVAILABLE on the model server (GetModelStatus)."""
        model = self._current
        if model is None:
            raise RuntimeError(f"no version of model {self._ref.name} is being served")
        if model.version not in await self._client.available_versions(model.name):
            raise RuntimeError(f"version {model.version} of model {model.name} is not AVAILABLE")

    def _switch_to(self, model: ServedModel) -> None:
        if model != self._current:
            previous = self._current.version if self._current else None
            logger.info("serving model %s version %s (was %s)", model.name, model.version, previous)
            self._metrics.model_version.labels(model.name).set(model.version)
        self._current = model
        self._failure = None

    def record_call(self, error: AppError | None) -> None:
        """What a request's call to the model server found: health reflects the last call."""
        if error is None:
            self._failure = None
        else:
            self._failure = error
            self._failed_at = time.monotonic()

    def _record_failure(self, error: AppError) -> None:
        logger.warning("could not learn which version of model %s to serve: %s", self._ref.name, error.message)
        self._failure = error
        self._failed_at = time.monotonic()
        if isinstance(error, _DEFINITIVE) and self._current is not None:
            logger.warning("stopped serving model %s version %s", self._current.name, self._current.version)
            self._current = None
            self._metrics.model_version.labels(self._ref.name).set(0)
