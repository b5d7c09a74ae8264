from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator

from skinguard_chassis.app import error_responses
from skinguard_chassis.auth import Principal, Role, require_roles, sees_only_own_images
from skinguard_chassis.params import Moment, Offset
from skinguard_chassis.sessions import SessionDep
from skinguard_chassis.storable import storable_text
from skinguard_contracts.errors import AppError, Forbidden, Invalid
from skinguard_runtime.storage import ObjectMissing, ObjectStore

from ..settings import IngestionSettings
from . import service
from .schemas import ImageOut, ImagePage, PresignedUrl, UploadOut

router = APIRouter(prefix="/api/images", tags=["images"])

Uploader = Annotated[Principal, Depends(require_roles(Role.uploader, Role.importer))]
Viewer = Annotated[Principal, Depends(require_roles(Role.uploader, Role.importer, Role.annotator))]
Eraser = Annotated[Principal, Depends(require_roles(Role.uploader))]

Text200 = Annotated[str | None, Form(max_length=200), AfterValidator(storable_text)]
# Identifiers end up in keys and filters: letters and digits, then also . _ : - (no path parts).
Identifier = Annotated[str | None, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


def _settings(request: Request) -> IngestionSettings:
    return request.app.state.settings


def _store(request: Request) -> ObjectStore:
    return request.app.state.store


SettingsDep = Annotated[IngestionSettings, Depends(_settings)]
StoreDep = Annotated[ObjectStore, Depends(_store)]


@router.post(
    "/upload",
    response_model=UploadOut,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a lesion photo (JPEG or PNG)",
    description=(
        "Validates the bytes (format sniffed from content, size, resolution, decodability, "
        "decompression bombs), strips EXIF/GPS/camera metadata after applying orientation, "
        "stores the image once per SHA-256 and records its quality metrics. Answers 201 with the "
        "caller's new record, 200 with `duplicate: true` for bytes the caller already stored. "
        "Another uploader of the same bytes gets a record of their own; nothing of theirs is revealed."
    ),
    responses={
        200: {"model": UploadOut, "description": "Already stored by the caller"},
        **error_responses(401, 403, 413, 415, 422, 503),
    },
)
async def upload(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    principal: Uploader,
    image: Annotated[UploadFile, File(description="JPEG or PNG, at most the configured size")],
    location: Text200 = None,
    size: Text200 = None,
    color: Text200 = None,
    notes: Annotated[str | None, Form(max_length=2000), AfterValidator(storable_text)] = None,
    lesion_id: Identifier = None,
    patient_id: Annotated[str | None, Form(min_length=1, max_length=128), AfterValidator(storable_text)] = None,
    source: Identifier = None,
    allow_low_resolution: Annotated[
        bool, Form(description="importers and admins: accept below the minimum resolution (flagged)")
    ] = False,
):
    metrics = request.app.state.ingestion_metrics
    if allow_low_resolution and principal.role not in (Role.importer, Role.admin):
        raise Forbidden("only importers and admins may store images below the minimum resolution")
    if len((await request.form()).getlist("image")) > 1:
        raise Invalid("send one photo per upload: the form holds several files named image", code="several_files")
    data = await image.read(settings.max_upload_bytes + 1)
    fields = service.UploadFields(location, size, color, notes, lesion_id, patient_id, source)
    try:
        record, duplicate = await service.upload_image(
            session,
            store,
            principal=principal,
            data=data,
            fields=fields,
            limits=settings.image_limits,
            low_resolution_limits=settings.low_resolution_limits if allow_low_resolution else None,
            bucket=settings.s3_bucket,
            pseudonym_key=settings.pseudonym_key.get_secret_value(),
        )
    except AppError as error:
        metrics.uploads.labels("rejected" if error.status_code < 500 else "failed").inc()
        metrics.rejections.labels(error.code).inc()
        raise
    metrics.uploads.labels("duplicate" if duplicate else "created").inc()
    owned = not sees_only_own_images(principal) or record.user_id == principal.user_id
    body = UploadOut(**ImageOut.of(record, redacted=not owned).model_dump(), duplicate=duplicate)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status.HTTP_200_OK if duplicate else status.HTTP_201_CREATED,
        headers={"Location": f"/api/images/{record.id}"},
    )


@router.get("", response_model=ImagePage, summary="List images", responses=error_responses(401, 403, 422))
async def list_images(
    session: SessionDep,
    settings: SettingsDep,
    principal: Viewer,
    source: Annotated[str | None, Query(max_length=64)] = None,
    lesion_id: Annotated[str | None, Query(max_length=64)] = None,
    patient_id: Annotated[str | None, Query(max_length=128, description="raw id; matched by pseudonym")] = None,
    created_after: Moment = None,
    created_before: Moment = None,
    low_resolution: Annotated[bool | None, Query(description="only images flagged low_resolution (or not)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> ImagePage:
    filters = service.ImageFilters(source, lesion_id, patient_id, created_after, created_before, low_resolution)
    images, total = await service.list_images(
        session,
        principal,
        filters,
        limit=limit,
        offset=offset,
        pseudonym_key=settings.pseudonym_key.get_secret_value(),
    )
    return ImagePage(items=[ImageOut.of(image) for image in images], total=total, limit=limit, offset=offset)


@router.get(
    "/{image_id}", response_model=ImageOut, summary="One image's record", responses=error_responses(401, 403, 404)
)
async def get_image(image_id: uuid.UUID, session: SessionDep, principal: Viewer) -> ImageOut:
    return ImageOut.of(await service.get_image(session, principal, image_id))


@router.get(
    "/{image_id}/content",
    summary="The stored image bytes, or a short-lived presigned URL",
    responses={
        200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "Image bytes or presigned URL"},
        **error_responses(401, 403, 404, 503),
    },
)
async def get_content(
    image_id: uuid.UUID,
    session: SessionDep,
    store: StoreDep,
    settings: SettingsDep,
    principal: Viewer,
    presigned: Annotated[bool, Query(description="answer {url, expires_in} instead of the bytes")] = False,
):
    image = await service.get_image(session, principal, image_id)
    if presigned:
        ttl = settings.presigned_url_ttl_seconds
        return PresignedUrl(url=store.presigned_get_url(image.object_key, ttl), expires_in=ttl)
    try:
        data = await store.get(image.object_key)
    except ObjectMissing as error:
        raise AppError(f"the stored object of image {image_id} is missing", code="object_missing") from error
    return Response(
        data,
        media_type=image.media_type,
        headers={
            "ETag": f'"{image.image_hash}"',
            "Cache-Control": "private, max-age=0, no-store",
            "Content-Disposition": f'inline; filename="{image.id}.{"jpg" if image.format == "jpeg" else "png"}"',
        },
    )


@router.delete(
    "/{image_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Erase an image: its object and its row",
    responses=error_responses(401, 403, 404, 503),
)
async def erase(image_id: uuid.UUID, session: SessionDep, store: StoreDep, principal: Eraser) -> Response:
    await service.erase_image(session, store, principal, image_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
