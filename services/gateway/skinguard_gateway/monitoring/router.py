from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from skinguard_chassis.app import error_responses
from skinguard_chassis.auth import AdminDep
from skinguard_chassis.sessions import SessionDep

from . import service
from .schemas import PerformanceOut, StatsOut

router = APIRouter(prefix="/monitoring", tags=["monitoring"])


@router.get(
    "/stats",
    response_model=StatsOut,
    summary="Predictions over a time window, overall and by model version",
    responses=error_responses(401, 403, 422),
)
async def stats(
    session: SessionDep, _: AdminDep, window_hours: Annotated[int, Query(ge=1, le=24 * 366)] = 24
) -> StatsOut:
    return await service.prediction_stats(session, window_hours)


@router.get(
    "/performance",
    response_model=PerformanceOut,
    summary="Accuracy, precision, recall and confusion matrix from feedback, overall and by model version",
    responses=error_responses(401, 403),
)
async def performance(session: SessionDep, _: AdminDep) -> PerformanceOut:
    return await service.prediction_performance(session)
