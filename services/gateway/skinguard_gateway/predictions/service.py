"""One prediction: validate -> usability -> cache lookup -> preprocess -> gRPC Predict -> cache -> log.

Preprocessing is training's: ``prepare_image`` gives the bytes ingestion would have stored for
this upload (metadata removed, orientation applied) and ``to_model_input`` turns them into the
model's input exactly as the training pipeline turns stored images into training pixels.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from skinguard_contracts.errors import AppError, Invalid
from skinguard_imaging import ImageLimits, PreparedImage, prepare_image, to_model_input

from ..cache import PredictionCache
from ..errors import ModelUnavailable, ServingTimeout, ServingUnavailable
from ..feedback.tokens import feedback_token, new_prediction_id
from ..metrics import GatewayMetrics
from ..serving.client import ModelClient, ServedModel
from ..serving.tracker import ModelTracker
from ..usability import UsabilityThresholds, check_usability
from .risk import assess
from .schemas import ImageQuality, ModelInfo, PredictionOut, Probabilities
from .tables import PredictionLog

logger = logging.getLogger(__name__)

NOTICE = (
    "This is not a diagnosis. It is an automated estimate from one photo and can be wrong. "
    "Show any new, changing, itching or bleeding spot to a doctor, whatever this result says."
)
# Recording is for monitoring: a slow or absent database must not hold up the answer.
PREDICTION_LOG_TIMEOUT_SECONDS = 2.0


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


@dataclass(frozen=True, slots=True)
class Answer:
    probabilities: tuple[float, float]
    model_name: str
    version: int  # the version that computed the probabilities
    cached: bool


class Predictor:
    def __init__(
        self,
        *,
        tracker: ModelTracker,
        client: ModelClient,
        cache: PredictionCache,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: GatewayMetrics,
        limits: ImageLimits,
        usability: UsabilityThresholds,
        feedback_key: str,
    ) -> None:
        self._tracker = tracker
        self._client = client
        self._cache = cache
        self._sessionmaker = sessionmaker
        self._metrics = metrics
        self._limits = limits
        self._usability = usability
        self._feedback_key = feedback_key

    async def predict(self, data: bytes, request_id: str) -> PredictionOut:
        prediction_id = new_prediction_id()
        started = time.perf_counter()
        prepared = await self._validated(data)
        answer = await self._answer(prepared)
        assessment = assess(answer.probabilities, self._tracker.metadata(answer.model_name, answer.version))
        quality = prepared.quality
        prediction = PredictionOut(
            predicted_class=assessment.predicted_class,
            confidence=assessment.confidence,
            probabilities=Probabilities(benign=answer.probabilities[0], malignant=answer.probabilities[1]),
            risk_level=assessment.risk_level,
            image_quality=ImageQuality(
                resolution=(quality.width, quality.height),
                file_size=quality.file_size,
                blur_score=quality.blur_score,
                brightness_score=quality.brightness_score,
                contrast_score=quality.contrast_score,
            ),
            model=ModelInfo(name=answer.model_name, version=answer.version),
            cached=answer.cached,
            request_id=request_id,
            prediction_id=prediction_id,
            feedback_token=feedback_token(self._feedback_key, prediction_id),
            notice=NOTICE,
        )
        latency = time.perf_counter() - started
        self._metrics.prediction_latency.labels(str(answer.cached).lower()).observe(latency)
        self._metrics.predictions.labels(str(answer.version), assessment.predicted_class.lower()).inc()
        await self._record(prediction, latency)
        return prediction

    async def _validated(self, data: bytes) -> PreparedImage:
        try:
            prepared = await asyncio.to_thread(prepare_image, data, self._limits)
            check_usability(prepared.quality, self._usability)
        except AppError as error:
            self._metrics.rejections.labels(error.code).inc()
            raise
        return prepared

    async def _answer(self, prepared: PreparedImage) -> Answer:
        model = await self._tracker.get()
        try:
            return await self._answer_with(model, prepared)
        except ModelUnavailable:
            # The version is gone (a newer one was promoted and this one unloaded): follow the label once.
            replacement = await self._tracker.refresh(replacing=model)
            if replacement == model:
                raise
            return await self._answer_with(replacement, prepared)

    async def _answer_with(self, model: ServedModel, prepared: PreparedImage) -> Answer:
        cached = await self._cache.get(model.name, model.version, prepared.sha256)
        if cached is not None:
            return Answer(cached, model.name, model.version, cached=True)
        pixels = await asyncio.to_thread(model_input, prepared, model.input_size)
        try:
            prediction = await self._client.predict(model, pixels)
        except (ServingUnavailable, ServingTimeout) as error:
            self._tracker.record_call(error)  # /health says so at once
            raise
        self._tracker.record_call(None)
        await self._cache.put(model.name, prediction.version, prepared.sha256, prediction.probabilities)
        return Answer(prediction.probabilities, model.name, prediction.version, cached=False)

    async def _record(self, prediction: PredictionOut, latency_seconds: float) -> None:
        """Log the answer for monitoring, under the server's prediction id."""
        row = insert(PredictionLog).values(
            prediction_id=prediction.prediction_id,
            model_name=prediction.model.name,
            model_version=prediction.model.version,
            predicted_class=prediction.predicted_class.lower(),
            confidence=prediction.confidence,
            probability_benign=prediction.probabilities.benign,
            probability_malignant=prediction.probabilities.malignant,
            risk_level=prediction.risk_level,
            cached=prediction.cached,
            latency_ms=latency_seconds * 1000,
        )
        try:
            async with asyncio.timeout(PREDICTION_LOG_TIMEOUT_SECONDS), self._sessionmaker.begin() as session:
                await session.execute(row.on_conflict_do_nothing())
        except (SQLAlchemyError, OSError, TimeoutError) as error:
            self._metrics.prediction_log_failures.inc()
            logger.error("prediction %s was answered but not logged: %s", prediction.prediction_id, error)
