from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status

from skinguard_chassis.app import error_responses
from skinguard_chassis.auth import AdminDep
from skinguard_chassis.params import Offset
from skinguard_chassis.sessions import SessionDep
from skinguard_contracts.manifest import DatasetManifest

from . import service
from .schemas import DatasetIn, DatasetOut, DatasetPage

router = APIRouter(prefix="/api/datasets", tags=["datasets"])


@router.post(
    "",
    response_model=DatasetOut,
    status_code=status.HTTP_201_CREATED,
    summary="Freeze a new dataset version",
    description=(
        "Selects labelled images by the filters, takes each image's consensus label, and splits "
        "them stratified by label and grouped by lesion, patient and near-duplicate cluster, so "
        "nothing leaks between splits. The same name again makes the next version; a version "
        "never changes. The manifest is also written to S3."
    ),
    responses=error_responses(401, 403, 422, 503),
)
async def create(body: DatasetIn, request: Request, session: SessionDep, principal: AdminDep) -> DatasetOut:
    settings = request.app.state.settings
    dataset = await service.create_dataset(
        session,
        request.app.state.store,
        principal,
        body,
        bucket=settings.s3_bucket,
        dispute_threshold=settings.dispute_threshold,
    )
    return DatasetOut.of(dataset)


@router.get("", response_model=DatasetPage, summary="List dataset versions", responses=error_responses(401, 403))
async def list_datasets(
    session: SessionDep,
    _: AdminDep,
    name: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> DatasetPage:
    datasets, total = await service.list_datasets(session, name=name, limit=limit, offset=offset)
    return DatasetPage(items=[DatasetOut.of(d) for d in datasets], total=total, limit=limit, offset=offset)


@router.get(
    "/{dataset_id}", response_model=DatasetOut, summary="One dataset version", responses=error_responses(401, 403, 404)
)
async def get_dataset(dataset_id: uuid.UUID, session: SessionDep, _: AdminDep) -> DatasetOut:
    return DatasetOut.of(await service.get_dataset(session, dataset_id))


@router.get(
    "/{dataset_id}/export",
    response_model=DatasetManifest,
    summary="The dataset in the training format: images (id, url, label, metadata) and splits",
    description=(
        "`urls=presigned` (default) gives HTTPS URLs valid for SKINGUARD_EXPORT_URL_TTL_SECONDS; "
        "`urls=s3` gives `s3://bucket/key` for readers with bucket credentials. Images erased "
        "since the version was frozen are left out."
    ),
    responses=error_responses(401, 403, 404),
)
async def export(
    dataset_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    _: AdminDep,
    urls: Literal["presigned", "s3"] = "presigned",
) -> DatasetManifest:
    settings = request.app.state.settings
    store = request.app.state.store
    dataset = await service.get_dataset(session, dataset_id)
    if urls == "s3":
        url_of = service.s3_url_of(settings.s3_bucket)
    else:

        def url_of(image):
            return store.presigned_get_url(image.object_key, settings.export_url_ttl_seconds)

    return await service.export_dataset(session, dataset, url_of)
