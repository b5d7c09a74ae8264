"""One prediction: cache lookup by the received bytes -> validate -> usability -> cache lookup by
the sanitized bytes -> preprocess -> gRPC Predict -> cache -> answer; the log row is queued.

Preprocessing is training's: ``prepare_image`` gives the bytes ingestion would have stored for
this upload (metadata removed, orientation applied) and ``to_model_input`` turns them into the
model's input exactly as the training pipeline turns stored images into training pixels.

A repeated upload (the same bytes, the same served version) is answered from the cache before
anything is decoded: its entry was written only once those bytes had been validated and answered
by that version (``cache``). Every answer, cached or not, gets its own prediction id and
feedback token and its own log row, so feedback can refer to it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from skinguard_contracts.errors import AppError, Invalid
from skinguard_imaging import ImageLimits, PreparedImage, prepare_image, to_model_input

from ..cache import PredictionCache, Probabilities, Quality
from ..errors import ModelUnavailable, ServingTimeout, ServingUnavailable
from ..feedback.tokens import feedback_token, new_prediction_id
from ..metrics import GatewayMetrics
from ..serving.client import ModelClient, ServedModel
from ..serving.tracker import ModelTracker
from ..usability import UsabilityThresholds, check_usability
from .log_writer import PredictionLogWriter
from .risk import assess

logger = logging.getLogger(__name__)

NOTICE = (
    "This is not a diagnosis. It is an automated estimate from one photo and can be wrong. "
    "Show any new, changing, itching or bleeding spot to a doctor, whatever this result says."
)
# Hashing more than this off the event loop (hashlib releases the GIL on large buffers).
HASH_INLINE_BYTES = 1024 * 1024


def model_input(prepared: PreparedImage, size: int) -> np.ndarray:
    """The model's ``uint8 (size, size, 3)`` input: the training pipeline's preprocessing of the stored bytes."""
    return to_model_input(prepared.stored_bytes, size)


def decode_base64_image(text: str) -> bytes:
    """Bytes from base64, with or without a ``data:image/...;base64,`` prefix and line breaks
    (CPU work on up to ~14 MB of text: call it off the event loop)."""
    _, comma, rest = text.partition(",")
    if text.startswith("data:") and not comma:
        raise _invalid_base64()
    payload = rest if text.startswith("data:") else text
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except ValueError as error:  # binascii.Error, and any character outside ASCII
        raise _invalid_base64() from error


def _invalid_base64() -> Invalid:
    return Invalid(
        'The "image" field is not valid base64. Send the photo\'s JPEG or PNG bytes base64-encoded.',
        code="invalid_base64",
    )


class Predictor:
    def __init__(
        self,
        *,
        tracker: ModelTracker,
        client: ModelClient,
        cache: PredictionCache,
        log: PredictionLogWriter,
        metrics: GatewayMetrics,
        limits: ImageLimits,
        usability: UsabilityThresholds,
        feedback_key: str,
    ) -> None:
        self._tracker = tracker
        self._client = client
        self._cache = cache
        self._log = log
        self._metrics = metrics
        self._limits = limits
        self._usability = usability
        self._feedback_key = feedback_key

    async def predict(self, data: bytes, request_id: str) -> dict[str, Any]:
        """The answer (``PredictionOut``'s fields, ready for JSON); its log row is queued."""
        started = time.perf_counter()
        upload_sha256 = await self._upload_digest(data)
        model = self._tracker.current
        hit = None
        if model is not None and upload_sha256 is not None:
            hit = await self._cache.get_upload(model.name, model.version, upload_sha256)
        if model is not None and hit is not None:
            probabilities, quality, version, cached = hit.probabilities, hit.quality, model.version, True
        else:
            prepared = await self._validated(data)
            quality = _quality(prepared)
            model, version, probabilities, cached = await self._answer(prepared, upload_sha256, quality)
        self._cache.count(hit=cached)
        return self._respond(model.name, version, probabilities, quality, cached, request_id, started)

    async def _upload_digest(self, data: bytes) -> str | None:
        """SHA-256 of the received bytes; None for bytes validation refuses by their size alone."""
        if not data or len(data) > self._limits.max_bytes:
            return None
        if len(data) <= HASH_INLINE_BYTES:
            return hashlib.sha256(data).hexdigest()
        return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())

    async def _validated(self, data: bytes) -> PreparedImage:
        try:
            prepared = await asyncio.to_thread(prepare_image, data, self._limits)
            check_usability(prepared.quality, self._usability)
        except AppError as error:
            self._metrics.rejections.labels(error.code).inc()
            raise
        return prepared

    async def _answer(
        self, prepared: PreparedImage, upload_sha256: str | None, quality: Quality
    ) -> tuple[ServedModel, int, Probabilities, bool]:
        model = await self._tracker.get()
        try:
            return await self._answer_with(model, prepared, upload_sha256, quality)
        except ModelUnavailable:
            # The version is gone (a newer one was promoted and this one unloaded): follow the label once.
            replacement = await self._tracker.refresh(replacing=model)
            if replacement == model:
                raise
            return await self._answer_with(replacement, prepared, upload_sha256, quality)

    async def _answer_with(
        self, model: ServedModel, prepared: PreparedImage, upload_sha256: str | None, quality: Quality
    ) -> tuple[ServedModel, int, Probabilities, bool]:
        """(model, the version that answered, probabilities, from the cache)."""
        if prepared.sha256 != upload_sha256:  # metadata was removed: these pixels may be cached under it
            cached = await self._cache.get(model.name, model.version, prepared.sha256)
            if cached is not None:
                await self._cache.put(
                    model.name,
                    model.version,
                    upload_sha256=upload_sha256,
                    pixels_sha256=None,
                    probabilities=cached,
                    quality=quality,
                )
                return model, model.version, cached, True
        pixels = await asyncio.to_thread(model_input, prepared, model.input_size)
        try:
            prediction = await self._client.predict(model, pixels)
        except (ServingUnavailable, ServingTimeout) as error:
            self._tracker.record_call(error)  # /health says so at once
            raise
        self._tracker.record_call(None)
        await self._cache.put(
            model.name,
            prediction.version,
            upload_sha256=upload_sha256,
            pixels_sha256=prepared.sha256,
            probabilities=prediction.probabilities,
            quality=quality,
        )
        return model, prediction.version, prediction.probabilities, False

    def _respond(
        self,
        model_name: str,
        version: int,
        probabilities: Probabilities,
        quality: Quality,
        cached: bool,
        request_id: str,
        started: float,
    ) -> dict[str, Any]:
        """The answer, counted and its log row queued under a new server-made prediction id."""
        assessment = assess(probabilities, self._tracker.metadata(model_name, version))
        benign, malignant = probabilities
        width, height, file_size, blur, brightness, contrast = quality
        prediction_id = new_prediction_id()
        answer = {
            "predicted_class": assessment.predicted_class,
            "confidence": assessment.confidence,
            "probabilities": {"benign": benign, "malignant": malignant},
            "risk_level": assessment.risk_level,
            "image_quality": {
                "resolution": [width, height],
                "file_size": file_size,
                "blur_score": blur,
                "brightness_score": brightness,
                "contrast_score": contrast,
            },
            "model": {"name": model_name, "version": version},
            "cached": cached,
            "request_id": request_id,
            "prediction_id": prediction_id,
            "feedback_token": feedback_token(self._feedback_key, prediction_id),
            "notice": NOTICE,
        }
        latency = time.perf_counter() - started
        self._metrics.prediction_latency.labels("true" if cached else "false").observe(latency)
        self._metrics.predictions.labels(str(version), assessment.predicted_class.lower()).inc()
        self._log.submit(
            {
                "prediction_id": prediction_id,
                "model_name": model_name,
                "model_version": version,
                "predicted_class": assessment.predicted_class.lower(),
                "confidence": assessment.confidence,
                "probability_benign": benign,
                "probability_malignant": malignant,
                "risk_level": assessment.risk_level,
                "cached": cached,
                "latency_ms": latency * 1000,
                "created_at": datetime.now(UTC),
            }
        )
        return answer


def _quality(prepared: PreparedImage) -> Quality:
    quality = prepared.quality
    return (
        quality.width,
        quality.height,
        quality.file_size,
        quality.blur_score,
        quality.brightness_score,
        quality.contrast_score,
    )
