"""Every hostile request seen against a running system, each a test: a clean 4xx, never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from support import hostile, images

from .conftest import assert_objects_match_rows, assert_refused_cleanly

NUL = "a\x00b"
BIG = ("9223372036854775808", str(10**30))
LIST_ROUTES = [
    ("ingestion", "/api/images", "uploader"),
    ("annotation", "/api/datasets", "admin"),
    ("annotation", "/api/training-jobs", "admin"),
    ("annotation", "/api/consensus", "admin"),
]


async def _upload(services, callers, data: bytes, caller: str = "uploader", **fields):
    return await services["ingestion"].post(
        "/api/images/upload",
        headers=callers[caller].headers,
        files={"image": ("x.png", data, "image/png")},
        data=fields,
    )


def _json(services, service: str, method: str, path: str, raw: str, caller):
    headers = {**caller.headers, "Content-Type": "application/json"}
    return services[service].request(method, path, content=raw.encode("utf-8", "surrogatepass"), headers=headers)


@pytest.mark.parametrize("field", ["location", "size", "color", "notes", "patient_id"])
async def test_a_nul_byte_in_an_upload_field_is_refused(services, callers, field) -> None:
    response = await _upload(services, callers, images.png(seed=1), **{field: NUL})
    assert_refused_cleanly(response)
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("service", "path", "caller"),
    [
        ("ingestion", "/api/images?source=%00", "admin"),
        ("ingestion", "/api/images?lesion_id=%00", "admin"),
        ("ingestion", "/api/images?source=%ED%B3%BF", "admin"),  # an unpaired surrogate, UTF-8 encoded
        ("annotation", "/api/datasets?name=%00", "admin"),
        ("annotation", "/api/models?name=%00", "admin"),
        ("annotation", "/api/models/%00/1/promote", "admin"),
        ("annotation", "/api/consensus?min_annotators=2147483648", "admin"),
        ("ingestion", "/api/images?created_after=9999-12-31T23:59:59-14:00", "admin"),
        ("ingestion", "/api/images?created_before=0001-01-01T00:00:00%2B14:00", "admin"),
        ("annotation", "/api/models/skinguard/99999999999999999999/promote", "admin"),
    ],
)
async def test_unstorable_query_and_path_values_are_refused(services, callers, service, path, caller) -> None:
    method = "POST" if path.endswith("/promote") else "GET"
    response = await services[service].request(method, path, headers=callers[caller].headers)
    assert_refused_cleanly(response)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(("service", "path", "caller"), LIST_ROUTES)
@pytest.mark.parametrize("offset", BIG)
async def test_an_offset_beyond_64_bits_is_refused_on_every_list_route(
    services, callers, service, path, caller, offset
):
    response = await services[service].get(path, params={"offset": offset}, headers=callers[caller].headers)
    assert_refused_cleanly(response)
    assert response.status_code == 422


@pytest.mark.parametrize(
    "raw",
    [
        '{"label": "benign", "metadata": {"a\\u0000": 1}}',
        '{"label": "benign", "metadata": {"k": "a\\u0000b"}}',
        '{"label": "benign", "metadata": {"k": "\\udcff"}}',
        '{"label": "benign", "metadata": {"\\udcff": 1}}',
        '{"label": "benign", "metadata": {"k": NaN}}',
        '{"label": "benign", "metadata": {"k": Infinity}}',
        '{"label": "benign", "metadata": {"k": -Infinity}}',
        '{"label": "benign", "metadata": {"k": 1e400}}',
        '{"label": "benign", "metadata": {"k": 123456789012345678901234567890}}',
        '{"label": "benign", "confidence": true}',
        '{"label": "benign", "confidence": "0.5"}',
    ],
)
async def test_unstorable_annotation_bodies_are_refused(services, callers, raw) -> None:
    image = (await _upload(services, callers, images.png(seed=2))).json()
    response = await _json(
        services, "annotation", "POST", f"/api/images/{image['id']}/annotate", raw, callers["annotator"]
    )
    assert_refused_cleanly(response)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "raw",
    [
        '{"name": "d", "filters": {"sources": ["a\\u0000"]}}',
        '{"name": "d", "filters": {"min_annotators": 2147483648}}',
        '{"name": "d", "filters": {"min_annotators": 100000000000000000000}}',
        '{"name": "d", "seed": 1e400}',
        '{"name": "d", "filters": {"exclude_disputed": "yes"}}',
    ],
)
async def test_unstorable_dataset_requests_are_refused(services, callers, raw) -> None:
    response = await _json(services, "annotation", "POST", "/api/datasets", raw, callers["admin"])
    assert_refused_cleanly(response)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"prediction_id": NUL, "feedback_token": "t", "actual_label": "benign"},
        {"prediction_id": "p", "feedback_token": "t", "actual_label": "benign", "comment": NUL},
    ],
)
async def test_unstorable_feedback_is_refused(services, body) -> None:
    response = await services["gateway"].post(
        "/feedback", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert_refused_cleanly(response)
    assert response.status_code == 422


@pytest.mark.parametrize("text", ["😀", "\u00ff", "１２３４", "data:image/png;base64", "ab\x00cd"])
async def test_predict_base64_refuses_what_is_not_base64(services, text) -> None:
    response = await services["gateway"].post("/predict_base64", json={"image": text})
    assert_refused_cleanly(response)
    assert response.status_code == 422


async def test_a_palette_png_with_a_long_trns_is_refused_everywhere(services, callers, s3, settings) -> None:
    data = hostile.png_trns_longer_than_palette()
    responses = [
        await _upload(services, callers, data),
        await services["gateway"].post("/predict", files={"file": ("x.png", data, "image/png")}),
        await services["gateway"].post("/predict_base64", json={"image": base64.b64encode(data).decode()}),
    ]
    for response in responses:
        assert_refused_cleanly(response)
        assert (response.status_code, response.json()["error"]) == (422, "corrupt_image")


@pytest.mark.parametrize("name", sorted(hostile.DAMAGED))
async def test_damaged_photos_are_neither_stored_nor_judged(services, callers, ingestion_service, s3, settings, name):
    data = hostile.DAMAGED[name]()
    stored = await _upload(services, callers, data)
    judged = await services["gateway"].post("/predict", files={"file": ("x.jpg", data, "image/jpeg")})
    for response in (stored, judged):
        assert (response.status_code, response.json()["error"]) == (422, "corrupt_image"), name
    await assert_objects_match_rows(ingestion_service[0], s3, settings.s3_bucket)


@pytest.mark.parametrize("identifier", ["../../../../etc/passwd", "a/b", ".hidden", "a b"])
@pytest.mark.parametrize("field", ["lesion_id", "source"])
async def test_identifiers_are_a_safe_character_set(services, callers, field, identifier) -> None:
    response = await _upload(services, callers, images.png(seed=3), **{field: identifier})
    assert_refused_cleanly(response)
    assert response.status_code == 422


async def test_two_files_in_one_upload_field_are_refused(services, callers, ingestion_service, s3, settings) -> None:
    files = [
        ("image", ("a.png", images.png(seed=4), "image/png")),
        ("image", ("b.png", images.png(seed=5), "image/png")),
    ]
    response = await services["ingestion"].post("/api/images/upload", headers=callers["uploader"].headers, files=files)
    assert_refused_cleanly(response)
    assert (response.status_code, response.json()["error"]) == (422, "several_files")
    await assert_objects_match_rows(ingestion_service[0], s3, settings.s3_bucket)


async def test_an_animated_png_is_an_unsupported_format(services, callers) -> None:
    frame = images.lesion_like(seed=6)
    animated = images.encode(frame, "PNG", save_all=True, append_images=[frame.rotate(90)])
    response = await _upload(services, callers, animated)
    assert (response.status_code, response.json()["error"]) == (415, "unsupported_format")


async def test_a_picture_that_is_not_of_skin_is_not_judged(services) -> None:
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    rocket = images.encode(Image.fromarray(data.rocket()), "JPEG")
    response = await services["gateway"].post("/predict", files={"file": ("rocket.jpg", rocket, "image/jpeg")})
    assert (response.status_code, response.json()["error"]) == (422, "not_skin")
    lesion = await services["gateway"].post("/predict", files={"file": ("l.jpg", images.jpeg(seed=8), "image/jpeg")})
    assert lesion.status_code == 200


@pytest.mark.parametrize("name", sorted(hostile.ODD_METADATA))
async def test_odd_exif_is_stored_whole_or_refused_cleanly(services, callers, ingestion_service, s3, settings, name):
    data = hostile.ODD_METADATA[name]()
    stored = await services["ingestion"].post(
        "/api/images/upload", headers=callers["uploader"].headers, files={"image": ("x.jpg", data, "image/jpeg")}
    )
    judged = await services["gateway"].post("/predict", files={"file": ("x.jpg", data, "image/jpeg")})
    for response in (stored, judged):
        assert_refused_cleanly(response)
    await assert_objects_match_rows(ingestion_service[0], s3, settings.s3_bucket)
