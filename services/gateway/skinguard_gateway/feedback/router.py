from __future__ import annotations

from fastapi import APIRouter, Depends, status

from skinguard_chassis.app import error_responses
from skinguard_chassis.sessions import SessionDep

from ..ratelimit import enforce_rate_limit
from . import service
from .schemas import FeedbackIn, FeedbackOut

router = APIRouter(tags=["feedback"])


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record the confirmed diagnosis for a prediction",
    description="One feedback per prediction (409 for a second); 404 for an unknown request id.",
    dependencies=[Depends(enforce_rate_limit)],
    responses=error_responses(404, 409, 422, 429, 503),
)
async def feedback(body: FeedbackIn, session: SessionDep) -> FeedbackOut:
    return await service.record_feedback(session, body)
