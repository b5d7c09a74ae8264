from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from skinguard_contracts.errors import Conflict, NotFound

from ..predictions.tables import PredictionLog
from .schemas import FeedbackIn, FeedbackOut
from .tables import PredictionFeedback


async def record_feedback(session: AsyncSession, feedback: FeedbackIn) -> FeedbackOut:
    """Attach the confirmed diagnosis to a logged prediction; a second one for it is refused."""
    if await session.get(PredictionLog, feedback.request_id) is None:
        raise NotFound(f"no prediction with request id {feedback.request_id}")
    created_at = await session.scalar(
        insert(PredictionFeedback)
        .values(request_id=feedback.request_id, actual_label=feedback.actual_label, comment=feedback.comment)
        .on_conflict_do_nothing()
        .returning(PredictionFeedback.created_at)
    )
    if created_at is None:
        raise Conflict(f"feedback for request {feedback.request_id} was already recorded")
    return FeedbackOut(**feedback.model_dump(), created_at=created_at)
