from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from skinguard_contracts.errors import Conflict, Forbidden, NotFound

from ..predictions.tables import PredictionLog
from .schemas import FeedbackIn, FeedbackOut
from .tables import PredictionFeedback
from .tokens import token_matches


async def record_feedback(session: AsyncSession, feedback: FeedbackIn, *, feedback_key: str) -> FeedbackOut:
    """Attach the confirmed diagnosis to a logged prediction whose token it quotes; once."""
    if not token_matches(feedback_key, feedback.prediction_id, feedback.feedback_token):
        raise Forbidden("the feedback token does not belong to this prediction", code="invalid_feedback_token")
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
