from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse

from skinguard_chassis.app import error_responses
from skinguard_chassis.auth import AdminDep, Principal, Role, require_roles
from skinguard_chassis.params import Offset
from skinguard_chassis.sessions import SessionDep
from skinguard_contracts.labels import Label

from . import service
from .schemas import (
    AdjudicateIn,
    AdjudicationOut,
    AgreementOut,
    AnnotateIn,
    AnnotationOut,
    ConsensusOut,
    ConsensusPage,
    ImageAnnotationsOut,
    PairAgreementOut,
    QueueItem,
    QueueOut,
)

router = APIRouter(tags=["labels"])

Labeller = Annotated[Principal, Depends(require_roles(Role.annotator, Role.importer))]


def _threshold(request: Request) -> float:
    return request.app.state.settings.dispute_threshold


@router.post(
    "/api/images/{image_id}/annotate",
    response_model=AnnotationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Label an image as the authenticated annotator",
    description=(
        "A new label supersedes this annotator's previous one (kept as history). Repeating the "
        "current label unchanged records nothing and answers 200."
    ),
    responses={200: {"model": AnnotationOut, "description": "Unchanged"}, **error_responses(401, 403, 404, 422)},
)
async def annotate(image_id: uuid.UUID, body: AnnotateIn, session: SessionDep, principal: Labeller):
    annotation, created = await service.annotate(session, principal, image_id, body)
    return JSONResponse(
        AnnotationOut.of(annotation).model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


@router.get(
    "/api/images/{image_id}/annotations",
    response_model=ImageAnnotationsOut,
    summary="Label history and consensus of an image",
    description="Admins see every annotator's labels and the consensus; annotators only their own (blind).",
    responses=error_responses(401, 403, 404),
)
async def image_annotations(
    image_id: uuid.UUID, request: Request, session: SessionDep, principal: Labeller
) -> ImageAnnotationsOut:
    await service.require_image(session, principal, image_id)
    sees_all = principal.is_admin
    annotations = await service.history(session, image_id, annotator_id=None if sees_all else principal.user_id)
    consensus = await service.consensus_of(session, image_id, _threshold(request)) if sees_all else None
    decisions = await service.adjudications(session, image_id) if sees_all else []
    return ImageAnnotationsOut(
        image_id=image_id,
        consensus=ConsensusOut.of(consensus) if consensus else None,
        annotations=[AnnotationOut.of(annotation) for annotation in annotations],
        adjudications=[AdjudicationOut.of(decision) for decision in decisions],
    )


@router.post(
    "/api/images/{image_id}/adjudication",
    response_model=AdjudicationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Decide a (disputed) image's label as an admin",
    description=(
        "The decision sets the consensus label and settles the dispute; a later decision supersedes "
        "it (kept as history). Repeating the current decision unchanged records nothing and answers 200."
    ),
    responses={200: {"model": AdjudicationOut, "description": "Unchanged"}, **error_responses(401, 403, 404, 409, 422)},
)
async def adjudicate(image_id: uuid.UUID, body: AdjudicateIn, session: SessionDep, principal: AdminDep):
    decision, created = await service.adjudicate(session, principal, image_id, body)
    return JSONResponse(
        AdjudicationOut.of(decision).model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


@router.get(
    "/api/consensus",
    response_model=ConsensusPage,
    summary="Consensus of labelled images, filterable",
    responses=error_responses(401, 403, 422),
)
async def consensus(
    request: Request,
    session: SessionDep,
    _: AdminDep,
    label: Label | None = None,
    disputed: bool | None = None,
    min_annotators: Annotated[int, Query(ge=1, le=1000)] = 1,
    source: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> ConsensusPage:
    rows, total = await service.list_consensus(
        session,
        _threshold(request),
        label=label,
        disputed=disputed,
        min_annotators=min_annotators,
        source=source,
        limit=limit,
        offset=offset,
    )
    return ConsensusPage(items=[ConsensusOut.of(row) for row in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/api/annotations/agreement",
    response_model=AgreementOut,
    summary="Inter-annotator agreement: Cohen's kappa per pair, Fleiss' kappa overall",
    responses=error_responses(401, 403),
)
async def agreement(session: SessionDep, _: AdminDep) -> AgreementOut:
    overall, pairs = await service.agreement(session)
    return AgreementOut(
        images=overall.images,
        annotators=overall.annotators,
        labels=overall.labels,
        fleiss_kappa=overall.fleiss_kappa,
        pairs=[
            PairAgreementOut(
                annotator_a=pair.annotator_a,
                annotator_b=pair.annotator_b,
                images=pair.images,
                observed_agreement=pair.observed_agreement,
                cohen_kappa=pair.kappa,
            )
            for pair in pairs
        ],
    )


@router.get(
    "/api/annotation-queue",
    response_model=QueueOut,
    summary="Images waiting for your label, least-labelled first (blind: no other labels shown)",
    responses=error_responses(401, 403, 422),
)
async def annotation_queue(
    request: Request, session: SessionDep, principal: Labeller, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> QueueOut:
    images, remaining = await service.queue(session, principal, limit)
    store = request.app.state.store
    ttl = request.app.state.settings.presigned_url_ttl_seconds
    return QueueOut(
        items=[
            QueueItem(
                image_id=image.id,
                content_url=store.presigned_get_url(image.object_key, ttl),
                width=image.width,
                height=image.height,
                metadata=image.meta,
                created_at=image.created_at,
            )
            for image in images
        ],
        remaining=remaining,
    )
