"""Fixtures for integration tests: in-process services on the test servers, callers, cleanup."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
import pytest_asyncio
from sqlalchemy import text

from skinguard_annotation.app import create_app as create_annotation
from skinguard_annotation.settings import AnnotationSettings
from skinguard_chassis.auth import Role, create_api_key
from skinguard_gateway.settings import GatewaySettings
from skinguard_ingestion.app import create_app as create_ingestion
from skinguard_ingestion.settings import IngestionSettings
from support.apps import running, settings_from

TABLES = (
    "training_images",
    "api_keys",
    "image_annotations",
    "label_adjudications",
    "training_datasets",
    "dataset_images",
    "training_jobs",
    "model_versions",
    "model_evaluations",
    "model_index_generations",
    "upload_intents",
)


@pytest.fixture(scope="session")
def settings(servers) -> IngestionSettings:
    return settings_from(servers.env, IngestionSettings)


@pytest.fixture(scope="session")
def gateway_schema(servers) -> None:
    """The gateway's tables, applied by its real ``migrate`` command."""
    command = [str(Path(sys.executable).parent / "skinguard-gateway"), "migrate"]
    subprocess.run(command, env={**os.environ, **servers.env}, check=True)


@pytest.fixture(scope="session")
def gateway_settings(servers, gateway_schema) -> GatewaySettings:
    return settings_from(
        servers.env,
        GatewaySettings,
        model_refresh_seconds=3600,  # tests refresh by hand
        serving_deadline_seconds=2,
        rate_limit_per_minute=0,
    )


@pytest.fixture(scope="session")
def annotation_settings(servers) -> AnnotationSettings:
    return settings_from(servers.env, AnnotationSettings)


@pytest_asyncio.fixture(scope="session")
async def ingestion_service(settings):
    app = create_ingestion(settings)
    async with running(app) as client:
        await app.state.store.ensure_bucket()
        yield app, client


@pytest_asyncio.fixture(scope="session")
async def annotation_service(annotation_settings):
    app = create_annotation(annotation_settings)
    async with running(app) as client:
        yield app, client


@pytest.fixture(scope="session")
def s3(settings):
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
        region_name=settings.s3_region,
    )


def bucket_keys(s3, bucket: str, prefix: str = "") -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


@pytest_asyncio.fixture
async def clean_state(ingestion_service, s3, settings):
    """Every integration test starts from empty tables and an empty bucket."""
    yield
    app, _ = ingestion_service
    async with app.state.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    for key in bucket_keys(s3, settings.s3_bucket):
        s3.delete_object(Bucket=settings.s3_bucket, Key=key)


class Caller:
    def __init__(self, token: str, user_id: uuid.UUID, role: Role) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}
        self.user_id = user_id
        self.role = role


CALLERS = {
    "uploader": Role.uploader,
    "other_uploader": Role.uploader,
    "annotator": Role.annotator,
    "annotator_2": Role.annotator,
    "annotator_3": Role.annotator,
    "importer": Role.importer,
    "admin": Role.admin,
}


@pytest_asyncio.fixture
async def callers(ingestion_service, clean_state) -> dict[str, Caller]:
    """One API key per role, plus a second uploader (another clinic) and three annotators."""
    app, _ = ingestion_service
    made = {}
    async with app.state.sessionmaker() as session, session.begin():
        for name, role in CALLERS.items():
            key, token = await create_api_key(session, name=name, role=role)
            made[name] = Caller(token, key.user_id, role)
    return made
