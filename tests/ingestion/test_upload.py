"""Uploads: validation, metadata stripping, dedup (also racing), quality metrics, provenance."""

from __future__ import annotations

import asyncio
import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select

from skinguard_ingestion.images.tables import TrainingImage
from support import images
from support.system import bucket_keys


async def upload(client, caller, data: bytes, filename: str = "lesion.jpg", content_type: str = "image/jpeg", **fields):
    return await client.post(
        "/api/images/upload",
        headers=caller.headers,
        files={"image": (filename, data, content_type)},
        data=fields,
    )


async def row_count(app) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(TrainingImage))


async def test_upload_stores_image_once_with_metrics(app, client, callers, s3, settings):
    data = images.jpeg(320, 240, seed=1)
    response = await upload(
        client,
        callers["uploader"],
        data,
        location="back",
        size="6mm",
        color="brown",
        notes="itchy",
        lesion_id="L-1",
        source="clinic-a",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["duplicate"] is False
    assert body["format"] == "jpeg"
    assert body["quality"]["resolution"] == [320, 240]
    assert body["quality"]["blur_score"] > 0
    assert 0 < body["quality"]["brightness_score"] < 255
    assert body["quality"]["contrast_score"] > 0
    assert body["metadata"] == {"location": "back", "size": "6mm", "color": "brown", "notes": "itchy", "flags": []}
    assert body["lesion_id"] == "L-1" and body["source"] == "clinic-a"
    assert body["uploaded_by"] == str(callers["uploader"].user_id)
    assert len(body["phash"]) == 16
    assert "lesion.jpg" not in response.text  # the original file name is not kept

    stored = s3.get_object(Bucket=settings.s3_bucket, Key=f"images/{body['sha256']}")["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == body["sha256"]
    assert body["quality"]["file_size"] == len(stored)
    assert response.headers["location"] == f"/api/images/{body['id']}"


async def test_same_bytes_again_is_a_duplicate(app, client, callers, s3, settings):
    data = images.jpeg(seed=2)
    first = await upload(client, callers["uploader"], data)
    second = await upload(client, callers["uploader"], data, notes="second try")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["duplicate"] is True
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["metadata"]["notes"] is None  # the stored record, not the new fields
    assert await row_count(app) == 1
    assert bucket_keys(s3, settings.s3_bucket) == [f"images/{first.json()['sha256']}"]


async def test_racing_identical_uploads_store_one_object_and_row(app, client, callers, s3, settings):
    data = images.png(300, 300, seed=3)
    responses = await asyncio.gather(
        *(upload(client, callers["uploader"], data, "x.png", "image/png") for _ in range(8))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 7 + [201]
    assert len({response.json()["id"] for response in responses}) == 1
    assert await row_count(app) == 1
    assert len(bucket_keys(s3, settings.s3_bucket)) == 1


async def test_the_same_photo_from_another_clinic_is_their_own_record_and_reveals_nothing(
    app, client, callers, s3, settings
):
    """The attack: upload a photo you suspect another clinic holds, to learn that it does, or to
    read, own or erase their record. Each uploader gets a record of their own."""
    data = images.jpeg(seed=4)
    first = await upload(client, callers["uploader"], data, notes="clinic A note", lesion_id="A-7", patient_id="p-1")
    response = await upload(client, callers["other_uploader"], data, notes="clinic B note", lesion_id="B-1")
    body = response.json()
    assert response.status_code == 201 and body["duplicate"] is False  # indistinguishable from new bytes
    assert body["id"] != first.json()["id"] and body["uploaded_by"] == str(callers["other_uploader"].user_id)
    assert body["metadata"]["notes"] == "clinic B note" and body["lesion_id"] == "B-1"
    assert body["patient_pseudonym"] is None  # B sent no patient id; A's is not theirs
    assert await row_count(app) == 2 and bucket_keys(s3, settings.s3_bucket) == [f"images/{body['sha256']}"]

    # B's erasure is B's alone: A's record and the shared object stay ...
    erased = await client.delete(f"/api/images/{body['id']}", headers=callers["other_uploader"].headers)
    assert erased.status_code == 204
    kept = await client.get(f"/api/images/{first.json()['id']}", headers=callers["uploader"].headers)
    assert kept.status_code == 200 and kept.json()["metadata"]["notes"] == "clinic A note"
    assert bucket_keys(s3, settings.s3_bucket) == [f"images/{body['sha256']}"]
    # ... and the object goes with the last record that references it.
    assert (
        await client.delete(f"/api/images/{first.json()['id']}", headers=callers["uploader"].headers)
    ).status_code == 204
    assert await row_count(app) == 0 and bucket_keys(s3, settings.s3_bucket) == []


async def test_png_is_accepted(client, callers):
    response = await upload(client, callers["uploader"], images.png(256, 300, seed=5), "a.png", "image/png")
    assert response.status_code == 201, response.text
    assert response.json()["format"] == "png"
    assert response.json()["quality"]["resolution"] == [256, 300]


async def test_format_is_decided_from_bytes_not_name_or_type(client, callers):
    jpeg_named_png = await upload(client, callers["uploader"], images.jpeg(seed=6), "photo.png", "image/png")
    assert jpeg_named_png.status_code == 201 and jpeg_named_png.json()["format"] == "jpeg"
    text_named_jpeg = await upload(client, callers["uploader"], b"hello, not an image" * 20, "photo.jpg")
    assert text_named_jpeg.status_code == 415
    assert text_named_jpeg.json()["error"] == "unsupported_format"


def _gif() -> bytes:
    return images.encode(images.lesion_like(seed=7), "GIF")


def _truncated_jpeg() -> bytes:
    data = images.jpeg(seed=8)
    return data[: len(data) // 2]


def _bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("make", "status", "code"),
    [
        (lambda: b"", 422, "empty_file"),
        (lambda: b"%PDF-1.7 not an image" * 10, 415, "unsupported_format"),
        (_gif, 415, "unsupported_format"),
        (_truncated_jpeg, 422, "corrupt_image"),
        (lambda: images.jpeg(100, 100, seed=9), 422, "too_small"),
        (lambda: images.png(500, 200, seed=10), 422, "too_small"),
        (_bomb_png, 422, "too_many_pixels"),
    ],
    ids=["empty", "pdf", "gif", "truncated", "tiny", "too-narrow", "decompression-bomb"],
)
async def test_bad_images_are_refused_with_a_reason_and_nothing_stored(
    app, client, callers, s3, settings, make, status, code
):
    response = await upload(client, callers["uploader"], make())
    assert response.status_code == status, response.text
    assert response.json()["error"] == code
    assert response.json()["detail"]
    assert await row_count(app) == 0
    assert bucket_keys(s3, settings.s3_bucket) == []


async def test_too_small_names_the_size(client, callers):
    response = await upload(client, callers["uploader"], images.jpeg(100, 80, seed=11))
    assert "100x80" in response.json()["detail"]


async def test_upload_over_the_size_limit_is_413(client, callers, settings):
    oversized = b"\xff\xd8\xff" + b"\0" * settings.max_upload_bytes
    response = await upload(client, callers["uploader"], oversized)
    assert response.status_code == 413
    assert response.json()["error"] == "file_too_large"
    assert "limit" in response.json()["detail"]


async def test_configured_size_limit_applies_to_the_image(servers, callers):
    """A smaller configured limit refuses an image that would otherwise be fine."""
    from skinguard_ingestion.app import create_app
    from skinguard_ingestion.settings import IngestionSettings
    from support.apps import running, settings_from

    small = settings_from(servers.env, IngestionSettings, max_upload_bytes=20_000)
    async with running(create_app(small)) as small_client:
        response = await upload(small_client, callers["uploader"], images.png(400, 400, seed=12))
    assert response.status_code == 413, response.text


async def test_streamed_body_without_length_is_cut_off(client, callers, settings):
    async def body():
        yield b'--x\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\n'
        chunk = b"\0" * 1024 * 1024
        for _ in range(settings.max_upload_bytes // len(chunk) + 2):
            yield chunk

    response = await client.post(
        "/api/images/upload",
        headers={**callers["uploader"].headers, "content-type": "multipart/form-data; boundary=x"},
        content=body(),
    )
    assert response.status_code == 413


async def test_missing_file_field_is_422(client, callers):
    response = await client.post("/api/images/upload", headers=callers["uploader"].headers, data={"notes": "x"})
    assert response.status_code == 422
    assert "image" in response.json()["detail"]


@pytest.mark.parametrize(
    "fields",
    [{"lesion_id": "has spaces"}, {"source": "x" * 65}, {"notes": "n" * 2001}, {"location": "l" * 201}],
    ids=["lesion-id-chars", "source-length", "notes-length", "location-length"],
)
async def test_invalid_metadata_is_422(app, client, callers, fields):
    response = await upload(client, callers["uploader"], images.jpeg(seed=13), **fields)
    assert response.status_code == 422, response.text
    assert await row_count(app) == 0


async def test_exif_gps_and_serial_are_stripped_and_orientation_applied(client, callers, s3, settings):
    photo = images.lesion_like(300, 240, seed=14)
    data = images.encode(photo, "JPEG", quality=92, exif=images.exif_with_gps_and_serial(orientation=6))
    assert b"SERIAL-123456" in data
    response = await upload(client, callers["uploader"], data)
    assert response.status_code == 201, response.text
    assert response.json()["quality"]["resolution"] == [240, 300]  # rotated upright
    stored = s3.get_object(Bucket=settings.s3_bucket, Key=f"images/{response.json()['sha256']}")["Body"].read()
    assert b"SERIAL-123456" not in stored and b"PhoneMaker" not in stored
    reopened = Image.open(io.BytesIO(stored))
    assert not reopened.getexif()
    assert reopened.size == (240, 300)


async def test_patient_id_is_stored_only_as_a_pseudonym(app, client, callers):
    response = await upload(client, callers["uploader"], images.jpeg(seed=15), patient_id="MRN-0042")
    pseudonym = response.json()["patient_pseudonym"]
    assert pseudonym.startswith("p_") and "MRN-0042" not in response.text
    again = await upload(client, callers["uploader"], images.jpeg(seed=16), patient_id="MRN-0042")
    assert again.json()["patient_pseudonym"] == pseudonym
    async with app.state.engine.connect() as connection:
        dump = str((await connection.exec_driver_sql("SELECT * FROM training_images")).all())
    assert "MRN-0042" not in dump


@pytest.mark.skipif(not images.real_images(), reason="../shared/data is not present")
async def test_real_dermoscopy_images_are_stored_losslessly(client, callers, s3, settings):
    for path in images.real_images(count=3):
        original = path.read_bytes()
        response = await upload(client, callers["uploader"], original, path.name, source="kaggle-mvb")
        assert response.status_code == 201, response.text
        stored = s3.get_object(Bucket=settings.s3_bucket, Key=f"images/{response.json()['sha256']}")["Body"].read()
        original_pixels = Image.open(io.BytesIO(original)).convert("RGB").tobytes()
        assert Image.open(io.BytesIO(stored)).convert("RGB").tobytes() == original_pixels


async def test_low_resolution_is_accepted_only_for_importers_and_flagged(client, callers):
    small = images.jpeg(200, 150, seed=17)  # the size of HAM10000's downsampled copies
    refused = await upload(client, callers["uploader"], small, allow_low_resolution="true")
    assert refused.status_code == 403
    plain = await upload(client, callers["admin"], small)
    assert plain.status_code == 422 and plain.json()["error"] == "too_small"
    accepted = await upload(client, callers["admin"], small, allow_low_resolution="true")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["metadata"]["flags"] == ["low_resolution"]
    tiny = await upload(client, callers["admin"], images.jpeg(120, 150, seed=18), allow_low_resolution="true")
    assert tiny.status_code == 422 and tiny.json()["error"] == "too_small"  # below the import floor


async def test_the_gallery_filters_images_flagged_low_resolution(client, callers):
    small = await upload(client, callers["admin"], images.jpeg(200, 150, seed=19), allow_low_resolution="true")
    normal = await upload(client, callers["admin"], images.jpeg(seed=20))
    assert small.status_code == normal.status_code == 201

    async def ids(flag: str) -> list[str]:
        page = await client.get("/api/images", params={"low_resolution": flag}, headers=callers["admin"].headers)
        assert page.status_code == 200, page.text
        return [item["id"] for item in page.json()["items"]]

    assert await ids("true") == [small.json()["id"]]
    assert await ids("false") == [normal.json()["id"]]
    bad = await client.get("/api/images", params={"low_resolution": "maybe"}, headers=callers["admin"].headers)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid"
