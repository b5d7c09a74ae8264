"""A frozen dataset version as the worker reads it from S3: its manifest and an image fetcher."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlparse

from .dataset_export import ExportedImage, Fetch


def manifest_key(dataset_id: uuid.UUID | str) -> str:
    return f"datasets/{dataset_id}/manifest.json"


def manifest_and_fetch(settings, s3, dataset_id: uuid.UUID) -> tuple[dict[str, Any], Fetch, int]:
    """The frozen manifest from S3, less images erased since (their objects are gone), and a fetcher."""
    manifest = json.loads(s3.get_object(Bucket=settings.s3_bucket, Key=manifest_key(dataset_id))["Body"].read())
    existing: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.s3_bucket, Prefix="images/"):
        existing.update(item["Key"] for item in page.get("Contents", []))

    kept = [image for image in manifest["images"] if _key_of(image["url"]) in existing]
    kept_ids = {image["id"] for image in kept}
    manifest["images"] = kept
    manifest["splits"] = {name: [i for i in ids if i in kept_ids] for name, ids in manifest["splits"].items()}

    def fetch(image: ExportedImage) -> bytes:
        return s3.get_object(Bucket=settings.s3_bucket, Key=_key_of(image.url))["Body"].read()

    return manifest, fetch, len(existing)


def _key_of(url: str) -> str:
    return urlparse(url).path.lstrip("/")
