from __future__ import annotations

import asyncio

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from skinguard_contracts.errors import Conflict, Forbidden, NotFound, ServiceUnavailable

from ..predictions.log_writer import PredictionLogWriter
from ..predictions.tables import PredictionLog
from .schemas import FeedbackIn, FeedbackOut
from .tables import PredictionFeedback
from .tokens import token_matches

# Prediction log rows are written in batches (``predictions.log_writer``): one still queued in
# this process is written before its feedback looks for it, waiting at most this long.
QUEUED_ROW_WAIT_SECONDS = 5.0
# A row queued by another gateway process is written within its linger (50 ms) and one insert:
# a genuine prediction (its token proves the gateway made it) that is not found yet gets one more look.
OTHER_PROCESS_WAIT_SECONDS = 0.3


async def record_feedback(
    session: AsyncSession, feedback: FeedbackIn, *, feedback_key: str, log: PredictionLogWriter | None = None
) -> FeedbackOut:
    """Attach the confirmed diagnosis to a logged prediction whose token it quotes; once."""
    if not token_matches(feedback_key, feedback.prediction_id, feedback.feedback_token):
        raise Forbidden("the feedback token does not belong to this prediction", code="invalid_feedback_token")
    if log is not None:
        await log.written(feedback.prediction_id, QUEUED_ROW_WAIT_SECONDS)
    if await session.get(PredictionLog, feedback.prediction_id) is None:
        if log is not None and log.holds(feedback.prediction_id):  # its write is being retried
            raise ServiceUnavailable(
                "the prediction is still being recorded; retry shortly", code="prediction_not_recorded_yet"
            )
        await asyncio.sleep(OTHER_PROCESS_WAIT_SECONDS)
        if await session.get(PredictionLog, feedback.prediction_id) is None:
            raise NotFound(f"no prediction {feedback.prediction_id}")
    created_at = await session.scalar(
        insert(PredictionFeedback)
        .values(prediction_id=feedback.prediction_id, actual_label=feedback.actual_label, comment=feedback.comment)
        .on_conflict_do_nothing()
        .returning(PredictionFeedback.created_at)
    )
    if created_at is None:
        raise Conflict(f"feedback for prediction {feedback.prediction_id} was already recorded")
    return FeedbackOut(
        prediction_id=feedback.prediction_id,
        actual_label=feedback.actual_label,
        comment=feedback.comment,
        created_at=created_at,
    )
