from __future__ import annotations

import uuid

import boto3
import pytest
import pytest_asyncio
from sqlalchemy import text
from support.apps import running, settings_from

from skinguard_common.auth import Role, create_api_key
from skinguard_ingestion.app import create_app
from skinguard_ingestion.settings import IngestionSettings



@pytest.fixture(scope="session")
def settings(servers) -> IngestionSettings:
    return settings_from(servers.env, IngestionSettings)


@pytest_asyncio.fixture(scope="session")
async def app_and_client(settings):
    app = create_app(settings)
    async with running(app) as client:
        await app.state.store.ensure_bucket()
        yield app, client


@pytest.fixture
def app(app_and_client):
    return app_and_client[0]


@pytest.fixture(scope="session")
def s3(settings):
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
        region_name=settings.s3_region,
    )


def bucket_keys(s3, bucket: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest_asyncio.fixture
async def client(app_and_client, s3, settings):
    app, client = app_and_client
    yield client
    async with app.state.engine.begin() as connection:
        await connection.execute(text("TRUNCATE training_images, api_keys"))
    for key in bucket_keys(s3, settings.s3_bucket):
        s3.delete_object(Bucket=settings.s3_bucket, Key=key)


class Caller:
    def __init__(self, token: str, user_id: uuid.UUID, role: Role) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}
        self.user_id = user_id
        self.role = role


@pytest_asyncio.fixture
async def callers(app, client) -> dict[str, Caller]:
    """One key per role, plus a second uploader (another clinic)."""
    made = {}
    async with app.state.sessionmaker() as session, session.begin():
        for name, role in [("uploader", Role.uploader), ("other_uploader", Role.uploader),
                           ("annotator", Role.annotator), ("admin", Role.admin)]:
            key, token = await create_api_key(session, name=name, role=role)
            made[name] = Caller(token, key.user_id, role)
    return made
