from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, File, Request, Response, UploadFile

from skinguard_chassis.app import error_responses

from ..ratelimit import enforce_rate_limit
from ..serving.tracker import ModelTracker
from ..settings import GatewaySettings
from .schemas import Base64Image, HealthOut, PredictionOut
from .service import Predictor, decode_base64_image

router = APIRouter(tags=["predictions"])


# Dependencies are coroutines: FastAPI runs plain functions in its thread pool, a hop per request each.
async def _predictor(request: Request) -> Predictor:
    return request.app.state.predictor


async def _tracker(request: Request) -> ModelTracker:
    return request.app.state.tracker


async def _settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


PredictorDep = Annotated[Predictor, Depends(_predictor)]
TrackerDep = Annotated[ModelTracker, Depends(_tracker)]
SettingsDep = Annotated[GatewaySettings, Depends(_settings)]

PREDICTION_ERRORS = error_responses(413, 415, 422, 429, 502, 503, 504)
DESCRIPTION = (
    "Validates the photo (format from its bytes, size, resolution, decodability) and refuses "
    "unusable ones (too blurry, too dark, overexposed) with a reason; classifies it with the "
    "served model version, preprocessed exactly as training did; answers from the cache when "
    "this version already classified the same pixels. Not a diagnosis."
)


def _json(answer: dict[str, Any]) -> Response:
    """The answer as ``PredictionOut`` JSON, serialized once by orjson (the route's model documents it)."""
    return Response(orjson.dumps(answer), media_type="application/json")


@router.post(
    "/predict",
    response_model=PredictionOut,
    summary="Classify a lesion photo (multipart upload)",
    description=DESCRIPTION,
    dependencies=[Depends(enforce_rate_limit)],
    responses=PREDICTION_ERRORS,
)
async def predict(
    request: Request,
    predictor: PredictorDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="JPEG or PNG photo of the lesion")],
) -> Response:
    data = await file.read(settings.max_upload_bytes + 1)
    return _json(await predictor.predict(data, request.scope["request_id"]))


@router.post(
    "/predict_base64",
    response_model=PredictionOut,
    summary="Classify a lesion photo sent as base64 JSON",
    description=DESCRIPTION,
    dependencies=[Depends(enforce_rate_limit)],
    responses=PREDICTION_ERRORS,
)
async def predict_base64(request: Request, predictor: PredictorDep, body: Base64Image) -> Response:
    data = await asyncio.to_thread(decode_base64_image, body.image)  # never block the loop on 14 MB
    return _json(await predictor.predict(data, request.scope["request_id"]))


@router.get("/health", response_model=HealthOut, summary="Is a model version being served", tags=["operations"])
async def health(tracker: TrackerDep) -> HealthOut:
    model = tracker.current
    return HealthOut(
        status="healthy" if tracker.healthy else "degraded",
        model_loaded=model is not None,
        model_version=model.version if model else None,
        timestamp=datetime.now(UTC),
    )


@router.get(
    "/model",
    summary="The served model's card: what it is for, how good it measured, its limits",
    description="Public: intended use and 'not a diagnosis', training data sources and class counts, the "
    "operating point, metrics in-distribution and on external data with 95% intervals, calibration, risk "
    "levels, slices and known limitations.",
    responses=error_responses(404, 503),
    tags=["operations"],
)
async def model_card(request: Request, tracker: TrackerDep) -> dict:
    model = await tracker.get()
    card = await request.app.state.public_cards.get(model)
    return {"name": model.name, "version": model.version, "card": card}
