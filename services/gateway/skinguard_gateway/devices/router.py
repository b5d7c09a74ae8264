"""On-device models: which version is served (``GET /models/current``) and its files.

An app keeps ``/models/current``'s ETag and revalidates (``If-None-Match``: 304 while nothing
changed); when ``version`` changes it downloads the format it runs, checks the SHA-256 and
classifies offline. Files are immutable (a version is written once), so their downloads may be
cached for good, under their SHA-256 as ETag.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response

from skinguard_chassis.app import error_responses
from skinguard_chassis.params import ModelName, VersionNumber

from ..serving.tracker import ModelTracker
from .schemas import CurrentModelOut
from .service import FILE_NAME_PATTERN, DeviceModels

router = APIRouter(tags=["devices"])

CURRENT_CACHING = "no-cache"  # store it, but ask (If-None-Match) before each use
FILE_CACHING = "public, max-age=31536000, immutable"
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the If-None-Match ETag is current"}
}


def _tracker(request: Request) -> ModelTracker:
    return request.app.state.tracker


def _devices(request: Request) -> DeviceModels:
    return request.app.state.device_models


TrackerDep = Annotated[ModelTracker, Depends(_tracker)]
DevicesDep = Annotated[DeviceModels, Depends(_devices)]
IfNoneMatch = Annotated[str | None, Header(description="an ETag from an earlier answer")]
FileName = Annotated[str, Path(pattern=FILE_NAME_PATTERN, description="a file listed in the version's formats")]


def matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` names ``etag`` (weak comparison, as for GET) or is ``*``."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.get(
    "/models/current",
    response_model=CurrentModelOut,
    summary="The served model version for on-device use: its thresholds, preprocessing, card and files",
    description="Public. What an app needs to classify offline exactly as the server does: the served "
    "version, its input size, class order, decision threshold, operating point, risk thresholds and "
    "preprocessing, the model card in short, and one entry per on-device format with its download URL, size, "
    "SHA-256 and test figures. Strong ETag and `Cache-Control: no-cache`: revalidate with If-None-Match (304 "
    "while unchanged); a new version changes `version` and the ETag.",
    responses={**NOT_MODIFIED, **error_responses(422, 503)},
)
async def current_model(tracker: TrackerDep, devices: DevicesDep, if_none_match: IfNoneMatch = None) -> Response:
    model = await tracker.get()
    body, etag = await devices.current(model)
    headers = {"ETag": etag, "Cache-Control": CURRENT_CACHING}
    if matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "/models/{model_name}/{version}/files/{file}",
    response_class=Response,
    summary="A file of the served version for on-device use (TFLite or ONNX)",
    description="Public. Only the served version's files listed in `GET /models/current` (404 otherwise). "
    "Checked against the published SHA-256 before it is sent (503 `device_file_mismatch` if not); "
    "`ETag` is the quoted SHA-256, cached for good (`immutable`); If-None-Match with it answers 304.",
    responses={
        200: {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The file's bytes",
        },
        **NOT_MODIFIED,
        **error_responses(404, 422, 503),
    },
)
async def device_file(
    model_name: ModelName,
    version: VersionNumber,
    file: FileName,
    tracker: TrackerDep,
    devices: DevicesDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    model = await tracker.get()
    entry = await devices.entry(model, model_name, version, file)
    headers = {"ETag": f'"{entry.sha256}"', "Cache-Control": FILE_CACHING}
    if matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    data = await devices.content(model, entry)
    headers["Content-Disposition"] = f'attachment; filename="{entry.file}"'
    return Response(data, media_type="application/octet-stream", headers=headers)
