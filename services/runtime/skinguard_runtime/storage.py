"""The object store: S3 (MinIO, SeaweedFS, AWS) through boto3, run in worker threads."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from skinguard_contracts.errors import ServiceUnavailable

from .settings import CommonSettings

logger = logging.getLogger(__name__)
# What clients are told: S3's own error text (bucket names, endpoints, request ids) stays in the logs.
UNAVAILABLE = "the object store is unavailable; try again later"


class StorageUnavailable(ServiceUnavailable):
    code = "storage_unavailable"


class ObjectMissing(Exception):
    """The key does not exist in the bucket."""


class ObjectStore(Protocol):
    async def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool: ...
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def get(self, key: str) -> bytes: ...
    async def exists(self, key: str) -> bool: ...
    async def delete(self, key: str) -> None: ...
    async def listing(self, prefix: str) -> list[tuple[str, datetime]]: ...
    def presigned_get_url(self, key: str, ttl_seconds: int) -> str: ...
    async def ping(self) -> None: ...


def s3_client(settings: CommonSettings, endpoint_url: str | None = None):
    """A boto3 S3 client configured from settings (sync; thread-safe)."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key.get_secret_value(),
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=settings.s3_timeout_seconds,
            read_timeout=settings.s3_timeout_seconds,
            # Two attempts in all (botocore's max_attempts would count retries only).
            retries={"total_max_attempts": 2, "mode": "standard"},
        ),
    )


def _is_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}


def _is_client_side(error: ClientError) -> bool:
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
    return 400 <= status < 500


class S3ObjectStore:
    """Async facade over a thread-safe boto3 client; S3 outages surface as ``StorageUnavailable``."""

    def __init__(self, settings: CommonSettings) -> None:
        self.bucket = settings.s3_bucket
        self._client = s3_client(settings, settings.s3_endpoint_url)
        self._presign_client = s3_client(settings, settings.s3_public_endpoint_url or settings.s3_endpoint_url)

    async def _call(self, method: str, **kwargs):
        try:
            return await asyncio.to_thread(getattr(self._client, method), **kwargs)
        except ClientError as error:
            if _is_missing(error):
                raise ObjectMissing(kwargs.get("Key", "")) from error
            if _is_client_side(error):
                raise
            logger.warning("object store error on %s: %s", method, error)
            raise StorageUnavailable(UNAVAILABLE) from error
        except BotoCoreError as error:
            logger.warning("object store unreachable on %s: %s", method, error)
            raise StorageUnavailable(UNAVAILABLE) from error

    async def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool:
        """Write ``data`` unless the key exists; True when this call created the object."""
        try:
            await self._call(
                "put_object",
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                IfNoneMatch="*",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "PreconditionFailed":
                return False
            raise
        return True

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write ``data``, replacing any object at the key (for documents that change, like indexes)."""
        await self._call("put_object", Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes:
        response = await self._call("get_object", Bucket=self.bucket, Key=key)
        return await asyncio.to_thread(response["Body"].read)

    async def exists(self, key: str) -> bool:
        try:
            await self._call("head_object", Bucket=self.bucket, Key=key)
        except ObjectMissing:
            return False
        return True

    async def delete(self, key: str) -> None:
        """Remove the object and, in a versioned bucket, every older version and delete marker of
        it: an erased photo leaves nothing behind."""
        versions = await self._versions_of(key)
        for version_id in versions:
            if version_id != "null":
                await self._call("delete_object", Bucket=self.bucket, Key=key, VersionId=version_id)
        if not versions or "null" in versions:  # an unversioned object: a plain delete removes it
            await self._call("delete_object", Bucket=self.bucket, Key=key)

    async def listing(self, prefix: str) -> list[tuple[str, datetime]]:
        """Every key under ``prefix`` with its last-modified time."""
        found: list[tuple[str, datetime]] = []
        request = {"Bucket": self.bucket, "Prefix": prefix}
        while True:
            page = await self._call("list_objects_v2", **request)
            found += [(item["Key"], item["LastModified"]) for item in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return found
            request["ContinuationToken"] = page["NextContinuationToken"]

    async def _versions_of(self, key: str) -> list[str]:
        version_ids: list[str] = []
        request = {"Bucket": self.bucket, "Prefix": key}
        while True:
            page = await self._call("list_object_versions", **request)
            entries = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            version_ids += [entry["VersionId"] for entry in entries if entry["Key"] == key]
            if not page.get("IsTruncated"):
                return version_ids
            request.update(KeyMarker=page["NextKeyMarker"], VersionIdMarker=page["NextVersionIdMarker"])

    def presigned_get_url(self, key: str, ttl_seconds: int) -> str:
        return self._presign_client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl_seconds
        )

    async def ping(self) -> None:
        """The bucket answers: a one-key listing, which every service's identity may make (a
        HEAD of the bucket needs more than a prefix-scoped identity holds)."""
        await self._call("list_objects_v2", Bucket=self.bucket, MaxKeys=1)

    async def ensure_bucket(self) -> None:
        try:
            await self.ping()
        except (ClientError, ObjectMissing):
            await self._call("create_bucket", Bucket=self.bucket)
