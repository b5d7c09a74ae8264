"""Reading, listing, content, erasure and authorisation of stored images."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from skinguard_chassis.auth import ApiKey
from skinguard_runtime.storage import S3ObjectStore
from support import images
from support.apps import fetch
from support.system import bucket_keys

from .test_upload import upload


async def test_get_image_returns_the_record(client, callers):
    created = (await upload(client, callers["uploader"], images.jpeg(seed=20), lesion_id="L-20")).json()
    response = await client.get(f"/api/images/{created['id']}", headers=callers["uploader"].headers)
    assert response.status_code == 200
    body = response.json()
    assert body["sha256"] == created["sha256"] and body["lesion_id"] == "L-20"
    assert "duplicate" not in body


async def test_unknown_or_malformed_id(client, callers):
    unknown = await client.get(f"/api/images/{uuid.uuid4()}", headers=callers["admin"].headers)
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    malformed = await client.get("/api/images/not-a-uuid", headers=callers["admin"].headers)
    assert malformed.status_code == 422


async def test_uploader_sees_only_its_own_images(client, callers):
    mine = (await upload(client, callers["uploader"], images.jpeg(seed=21))).json()
    theirs = (await upload(client, callers["other_uploader"], images.jpeg(seed=22))).json()
    own = callers["uploader"].headers
    assert (await client.get(f"/api/images/{theirs['id']}", headers=own)).status_code == 404
    assert (await client.get(f"/api/images/{theirs['id']}/content", headers=own)).status_code == 404
    listed = (await client.get("/api/images", headers=own)).json()
    assert [item["id"] for item in listed["items"]] == [mine["id"]] and listed["total"] == 1
    for viewer in ("annotator", "admin"):
        everything = (await client.get("/api/images", headers=callers[viewer].headers)).json()
        assert everything["total"] == 2


async def test_list_filters_and_pages(client, callers):
    uploader = callers["uploader"]
    for seed in range(5):
        await upload(
            client,
            uploader,
            images.jpeg(seed=30 + seed),
            source="clinic-a" if seed < 3 else "clinic-b",
            lesion_id=f"L-{seed % 2}",
            patient_id=f"patient-{seed % 2}",
        )
    get = lambda **params: client.get("/api/images", headers=uploader.headers, params=params)  # noqa: E731
    assert (await get(source="clinic-a")).json()["total"] == 3
    assert (await get(lesion_id="L-1")).json()["total"] == 2
    by_patient = await client.get("/api/images", headers=callers["admin"].headers, params={"patient_id": "patient-0"})
    assert by_patient.json()["total"] == 3  # admins only: tests/security
    assert (await get(source="clinic-b", lesion_id="L-1")).json()["total"] == 1
    page = (await get(limit=2, offset=4)).json()
    assert page["total"] == 5 and len(page["items"]) == 1 and page["limit"] == 2 and page["offset"] == 4
    every_id = [item["id"] for offset in (0, 2, 4) for item in (await get(limit=2, offset=offset)).json()["items"]]
    assert len(set(every_id)) == 5
    now = datetime.now(UTC)
    assert (await get(created_after=(now - timedelta(minutes=5)).isoformat())).json()["total"] == 5
    assert (await get(created_before=(now - timedelta(minutes=5)).isoformat())).json()["total"] == 0
    assert (await get(limit=0)).status_code == 422
    assert (await get(created_after="yesterday")).status_code == 422


async def test_content_returns_the_stored_bytes(client, callers, s3, settings):
    # An original name the served one (the image id) cannot contain ("a.png" could: "...9a.png").
    created = (await upload(client, callers["uploader"], images.png(seed=40), "lesion-photo.png", "image/png")).json()
    response = await client.get(f"/api/images/{created['id']}/content", headers=callers["annotator"].headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["etag"] == f'"{created["sha256"]}"'
    assert "lesion-photo" not in response.headers["content-disposition"]
    assert response.headers["content-disposition"] == f'inline; filename="{created["id"]}.png"'
    assert (
        response.content == s3.get_object(Bucket=settings.s3_bucket, Key=f"images/{created['sha256']}")["Body"].read()
    )


async def test_presigned_content_url_is_fetchable_and_short_lived(client, callers, settings):
    created = (await upload(client, callers["uploader"], images.jpeg(seed=41))).json()
    response = await client.get(
        f"/api/images/{created['id']}/content", params={"presigned": "true"}, headers=callers["uploader"].headers
    )
    assert response.status_code == 200
    assert response.json()["expires_in"] == settings.presigned_url_ttl_seconds
    fetched = await fetch(response.json()["url"])
    assert fetched.status_code == 200 and len(fetched.content) == created["quality"]["file_size"]
    tampered = response.json()["url"].replace(created["sha256"], "0" * 64)
    assert (await fetch(tampered)).status_code == 403  # the signature covers the key


async def test_erasure_removes_object_and_row(client, callers, s3, settings):
    created = (await upload(client, callers["uploader"], images.jpeg(seed=42))).json()
    response = await client.delete(f"/api/images/{created['id']}", headers=callers["uploader"].headers)
    assert response.status_code == 204
    assert (await client.get(f"/api/images/{created['id']}", headers=callers["admin"].headers)).status_code == 404
    assert bucket_keys(s3, settings.s3_bucket) == []
    again = await client.delete(f"/api/images/{created['id']}", headers=callers["uploader"].headers)
    assert again.status_code == 404
    reupload = await upload(client, callers["uploader"], images.jpeg(seed=42))
    assert reupload.status_code == 201 and reupload.json()["id"] != created["id"]


async def test_erasure_in_a_versioned_bucket_leaves_no_old_version_behind(s3, settings):
    bucket = f"versioned-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    store = S3ObjectStore(settings.model_copy(update={"s3_bucket": bucket}))
    for body in (b"first", b"second"):
        await store.put("images/abc", body, "image/png")
    await store.put("images/abcd", b"a neighbour", "image/png")
    await store.delete("images/abc")
    listed = s3.list_object_versions(Bucket=bucket)
    remaining = [entry["Key"] for entry in listed.get("Versions", []) + listed.get("DeleteMarkers", [])]
    assert remaining == ["images/abcd"]  # every version and marker of the erased key gone, the neighbour kept
    await store.delete("images/abcd")
    await store.delete("images/never-stored")  # nothing to erase is not an error


async def test_who_may_erase(client, callers):
    created = (await upload(client, callers["uploader"], images.jpeg(seed=43))).json()
    path = f"/api/images/{created['id']}"
    assert (await client.delete(path, headers=callers["annotator"].headers)).status_code == 403
    assert (await client.delete(path, headers=callers["other_uploader"].headers)).status_code == 404
    assert (await client.delete(path, headers=callers["admin"].headers)).status_code == 204


ENDPOINTS = [
    ("POST", "/api/images/upload"),
    ("GET", "/api/images"),
    ("GET", f"/api/images/{uuid.uuid4()}"),
    ("GET", f"/api/images/{uuid.uuid4()}/content"),
    ("DELETE", f"/api/images/{uuid.uuid4()}"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer sg_not-a-real-key", "Basic dXNlcjpwYXNz", "Bearer"],
    ids=["none", "unknown", "basic", "empty"],
)
async def test_every_endpoint_needs_a_valid_key(client, callers, method, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.request(method, path, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_revoked_key_is_refused(app, client, callers):
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(ApiKey).where(ApiKey.user_id == callers["uploader"].user_id).values(revoked_at=datetime.now(UTC))
        )
    response = await client.get("/api/images", headers=callers["uploader"].headers)
    assert response.status_code == 401


async def test_annotator_may_not_upload(client, callers):
    response = await upload(client, callers["annotator"], images.jpeg(seed=44))
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
