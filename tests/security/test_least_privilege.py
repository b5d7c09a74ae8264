"""Least privilege: each service's own database role and S3 identity hold only what it needs.

The attack: the internet-facing gateway is compromised. With its credentials the attacker must
not mint an admin API key, read photos or labels, or replace the served model.
"""

from __future__ import annotations

import uuid

import asyncpg
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from skinguard_annotation.app import create_app as create_annotation
from skinguard_annotation.settings import AnnotationSettings
from skinguard_contracts.privileges import ACCESS
from skinguard_ingestion.app import create_app as create_ingestion
from skinguard_ingestion.settings import IngestionSettings
from support import images
from support.apps import running, settings_from


@pytest.fixture
def infra(servers):
    if servers.infra is None:
        pytest.skip("per-service credentials exist for the embedded servers only")
    return servers.infra


def _database(infra, service: str):
    url = infra.credentials_of(service)["SKINGUARD_DATABASE_URL"]
    return asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))


def _s3(infra, service: str):
    credentials = infra.credentials_of(service)
    return boto3.client(
        "s3",
        endpoint_url=infra.s3.url,
        aws_access_key_id=credentials["SKINGUARD_S3_ACCESS_KEY"],
        aws_secret_access_key=credentials["SKINGUARD_S3_SECRET_KEY"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )


def _denied(call) -> bool:
    try:
        call()
    except ClientError as error:
        return error.response["Error"]["Code"] in {"AccessDenied", "403", "Forbidden"}
    return False


async def test_the_gateway_role_cannot_mint_an_api_key_or_read_photos_and_labels(infra):
    connection = await _database(infra, "gateway")
    try:
        assert await connection.fetchval("SELECT count(*) FROM prediction_log") >= 0  # its own table
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute(
                "INSERT INTO api_keys (id, name, role, user_id, key_hash) VALUES ($1, 'attacker', 'admin', $1, 'x')",
                uuid.uuid4(),
            )
        for table in ("training_images", "image_annotations", "model_versions"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await connection.fetch(f"SELECT * FROM {table} LIMIT 1")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("DELETE FROM prediction_log")
    finally:
        await connection.close()


def test_the_gateway_identity_reads_models_only_and_writes_nothing(infra, s3, settings):
    bucket = settings.s3_bucket
    s3.put_object(Bucket=bucket, Key="models/skinguard/versions.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="images/" + "0" * 64, Body=b"a photo")
    gateway = _s3(infra, "gateway")
    try:
        assert gateway.get_object(Bucket=bucket, Key="models/skinguard/versions.json")["Body"].read() == b"{}"
        assert _denied(lambda: gateway.put_object(Bucket=bucket, Key="models/skinguard/versions.json", Body=b"x"))
        assert _denied(lambda: gateway.delete_object(Bucket=bucket, Key="models/skinguard/versions.json"))
        assert _denied(lambda: gateway.get_object(Bucket=bucket, Key="images/" + "0" * 64))
        assert _denied(lambda: gateway.put_object(Bucket=bucket, Key="images/new", Body=b"x"))
    finally:
        for key in ("models/skinguard/versions.json", "images/" + "0" * 64):
            s3.delete_object(Bucket=bucket, Key=key)


def test_each_service_writes_only_its_own_prefixes(infra, s3, settings):
    bucket = settings.s3_bucket
    probes = ("images/", "datasets/", "jobs/", "models/")
    try:
        for service, access in ACCESS.items():
            if access.s3_identity is None:
                continue
            client = _s3(infra, service)
            for prefix in probes:
                key = f"{prefix}probe-{service}"
                allowed = not _denied(lambda: client.put_object(Bucket=bucket, Key=key, Body=b"x"))  # noqa: B023
                assert allowed == (prefix in access.s3_write), (service, prefix)
    finally:
        for prefix in probes:
            for item in s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}probe-").get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"])


async def test_ingestion_and_annotation_do_their_work_with_their_own_credentials(infra, servers, callers, clean_state):
    """Upload, label, freeze and erase (cascading to the labels) with nothing but each
    service's grants: least privilege must not break the flows."""
    own = {
        service: settings_from({**servers.env, **infra.credentials_of(service)}, settings)
        for service, settings in (("ingestion", IngestionSettings), ("annotation", AnnotationSettings))
    }
    async with (
        running(create_ingestion(own["ingestion"])) as ingestion,
        running(create_annotation(own["annotation"])) as annotation,
    ):
        ids = []
        for seed in range(4):
            uploaded = await ingestion.post(
                "/api/images/upload",
                headers=callers["uploader"].headers,
                files={"image": ("x.png", images.png(seed=900 + seed), "image/png")},
                data={"notes": "n", "patient_id": f"p-{seed}"},
            )
            assert uploaded.status_code == 201, uploaded.text
            ids.append(uploaded.json()["id"])
            labelled = await annotation.post(
                f"/api/images/{ids[-1]}/annotate",
                headers=callers["annotator"].headers,
                json={"label": "malignant" if seed % 2 else "benign"},
            )
            assert labelled.status_code == 201, labelled.text
        frozen = await annotation.post(
            "/api/datasets",
            headers=callers["admin"].headers,
            json={"name": "least-privilege", "seed": 1, "splits": {"train": 0.5, "validation": 0.25, "test": 0.25}},
        )
        assert frozen.status_code == 201, frozen.text
        export = await annotation.get(f"/api/datasets/{frozen.json()['id']}/export", headers=callers["admin"].headers)
        assert export.status_code == 200 and len(export.json()["images"]) == 4
        assert (await ingestion.delete(f"/api/images/{ids[0]}", headers=callers["uploader"].headers)).status_code == 204
        history = await annotation.get(f"/api/images/{ids[0]}/annotations", headers=callers["admin"].headers)
        assert history.status_code == 404  # the labels went with the image
        for service in (ingestion, annotation):
            assert (await service.get("/readyz")).status_code == 200
