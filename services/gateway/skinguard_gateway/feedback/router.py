from __future__ import annotations

from fastapi import APIRouter, Depends, Request, status

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
    description="Quote the prediction's `prediction_id` and `feedback_token` (403 when they do not match). One "
    "feedback per prediction (409 for a second); 404 for an unknown prediction.",
    dependencies=[Depends(enforce_rate_limit)],
    responses=error_responses(403, 404, 409, 422, 429, 503),
)
async def feedback(body: FeedbackIn, request: Request, session: SessionDep) -> FeedbackOut:
    key = request.app.state.settings.feedback_key.get_secret_value()
    return await service.record_feedback(session, body, feedback_key=key, log=request.app.state.prediction_log)
