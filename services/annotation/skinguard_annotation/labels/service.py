"""Labels: recording with history, consensus, agreement and the blind work queue."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from skinguard_chassis.auth import Principal, visible_images
from skinguard_contracts.errors import Conflict, NotFound

from ..tables import Adjudication, Annotation, ImageView
from .agreement import OverallAgreement, PairAgreement, overall_agreement, pairwise_agreement
from .consensus import consensus_query
from .schemas import AdjudicateIn, AnnotateIn

_FOREIGN_KEY_VIOLATION = "23503"


async def require_image(session: AsyncSession, principal: Principal, image_id: uuid.UUID) -> ImageView:
    """The image, if ``principal`` may see it (``visible_images``); 404 alike for unknown and unseen."""
    query = visible_images(select(ImageView), principal, ImageView.user_id).where(ImageView.id == image_id)
    image = await session.scalar(query)
    if image is None:
        raise NotFound(f"no image with id {image_id}")
    return image


async def annotate(
    session: AsyncSession, principal: Principal, image_id: uuid.UUID, request: AnnotateIn
) -> tuple[Annotation, bool]:
    """Record a label; it supersedes the annotator's previous one, which stays as history.

    Repeating the current label unchanged records nothing (idempotent re-runs); returns
    the current annotation and whether it was created now.
    """
    # A lock per image serialises concurrent labels (an advisory lock: this service may read
    # ingestion's rows, not lock them); the image is looked up again once it is held.
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"labels:{image_id}"))))
    await require_image(session, principal, image_id)
    current = await session.scalar(
        select(Annotation).where(
            Annotation.image_id == image_id,
            Annotation.annotator_id == principal.user_id,
            Annotation.superseded_at.is_(None),
        )
    )
    if current is not None:
        unchanged = (current.label, current.confidence, current.meta) == (
            request.label,
            request.confidence,
            request.metadata,
        )
        if unchanged:
            return current, False
        current.superseded_at = datetime.now(UTC)
        await session.flush()
    annotation = Annotation(
        image_id=image_id,
        label=request.label,
        confidence=request.confidence,
        annotator_id=principal.user_id,
        meta=request.metadata,
    )
    await _add_for_image(session, annotation, image_id)
    return annotation, True


async def _add_for_image(session: AsyncSession, row: Annotation | Adjudication, image_id: uuid.UUID) -> None:
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as error:
        if getattr(error.orig, "sqlstate", None) == _FOREIGN_KEY_VIOLATION:  # erased since the lookup
            raise NotFound(f"no image with id {image_id}") from error
        raise
    await session.refresh(row)


async def adjudicate(
    session: AsyncSession, principal: Principal, image_id: uuid.UUID, request: AdjudicateIn
) -> tuple[Adjudication, bool]:
    """Record an admin's decision on an image's label; it supersedes the previous decision (kept).
    Only a labelled image can be adjudicated; repeating the current decision records nothing."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"labels:{image_id}"))))
    await require_image(session, principal, image_id)
    labelled = await session.scalar(
        select(func.count()).where(Annotation.image_id == image_id, Annotation.superseded_at.is_(None))
    )
    if not labelled:
        raise Conflict(f"image {image_id} has no labels to adjudicate", code="nothing_to_adjudicate")
    current = await session.scalar(
        select(Adjudication).where(Adjudication.image_id == image_id, Adjudication.superseded_at.is_(None))
    )
    if current is not None:
        if (current.label, current.note) == (request.label, request.note):
            return current, False
        current.superseded_at = datetime.now(UTC)
        await session.flush()
    decision = Adjudication(image_id=image_id, label=request.label, adjudicator_id=principal.user_id, note=request.note)
    await _add_for_image(session, decision, image_id)
    return decision, True


async def adjudications(session: AsyncSession, image_id: uuid.UUID) -> list[Adjudication]:
    query = select(Adjudication).where(Adjudication.image_id == image_id)
    return list(await session.scalars(query.order_by(Adjudication.created_at.desc(), Adjudication.id)))


async def history(session: AsyncSession, image_id: uuid.UUID, *, annotator_id: uuid.UUID | None) -> list[Annotation]:
    query = select(Annotation).where(Annotation.image_id == image_id)
    if annotator_id is not None:
        query = query.where(Annotation.annotator_id == annotator_id)
    return list(await session.scalars(query.order_by(Annotation.created_at.desc(), Annotation.id)))


async def consensus_of(session: AsyncSession, image_id: uuid.UUID, dispute_threshold: float):
    consensus = consensus_query(dispute_threshold).subquery()
    return (await session.execute(select(consensus).where(consensus.c.image_id == image_id))).one_or_none()


async def list_consensus(
    session: AsyncSession,
    dispute_threshold: float,
    *,
    label: str | None,
    disputed: bool | None,
    min_annotators: int,
    source: str | None,
    limit: int,
    offset: int,
):
    consensus = consensus_query(dispute_threshold).subquery()
    query = select(consensus).where(consensus.c.annotators >= min_annotators)
    if label is not None:
        query = query.where(consensus.c.label == label)
    if disputed is not None:
        query = query.where(consensus.c.disputed == disputed)
    if source is not None:
        query = query.join(ImageView, ImageView.id == consensus.c.image_id).where(ImageView.source == source)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = (await session.execute(query.order_by(consensus.c.image_id).limit(limit).offset(offset))).all()
    return rows, total or 0


async def current_votes(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    rows = await session.execute(
        select(Annotation.image_id, Annotation.annotator_id, Annotation.label).where(Annotation.superseded_at.is_(None))
    )
    return [(image_id, annotator_id, label) for image_id, annotator_id, label in rows]


async def agreement(session: AsyncSession) -> tuple[OverallAgreement, list[PairAgreement]]:
    votes = await current_votes(session)
    return overall_agreement(votes), pairwise_agreement(votes)


async def queue(session: AsyncSession, principal: Principal, limit: int) -> tuple[list[ImageView], int]:
    """Images this annotator has not labelled yet, least-labelled first (counts are not revealed);
    an importer's queue holds only its own images."""
    labelled_by_me = select(Annotation.image_id).where(
        Annotation.annotator_id == principal.user_id, Annotation.superseded_at.is_(None)
    )
    label_counts = (
        select(Annotation.image_id, func.count().label("labels"))
        .where(Annotation.superseded_at.is_(None))
        .group_by(Annotation.image_id)
        .subquery()
    )
    waiting = visible_images(
        select(ImageView)
        .outerjoin(label_counts, label_counts.c.image_id == ImageView.id)
        .where(ImageView.id.not_in(labelled_by_me)),
        principal,
        ImageView.user_id,
    )
    remaining = await session.scalar(select(func.count()).select_from(waiting.subquery()))
    page = await session.scalars(
        waiting.order_by(func.coalesce(label_counts.c.labels, 0), ImageView.created_at, ImageView.id).limit(limit)
    )
    return list(page), remaining or 0
