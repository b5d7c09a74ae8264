"""The data a worker job runs on, from S3, and a fetcher for its images.

A training job or an evaluation reads the export the annotation service wrote when it queued
the job (``jobs/<id>/dataset.json``: erased images already left out). The gate's external
dataset is a frozen manifest read directly; its images erased since freezing are left out by
asking S3 for each of that dataset's objects (never by listing the bucket).
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from skinguard_contracts.keys import dataset_manifest_key, job_dataset_key, key_of_s3_url
from skinguard_contracts.manifest import DatasetManifest, ExportedImage

from .data import Fetch

_HEAD_THREADS = 8


def job_dataset(s3, bucket: str, job_id: uuid.UUID) -> tuple[DatasetManifest, Fetch]:
    body = s3.get_object(Bucket=bucket, Key=job_dataset_key(job_id))["Body"].read()
    return DatasetManifest.model_validate_json(body), fetcher(s3, bucket)


def frozen_dataset(s3, bucket: str, dataset_id: uuid.UUID) -> tuple[DatasetManifest, Fetch]:
    """A dataset version's manifest as frozen, less the images whose objects are gone."""
    body = s3.get_object(Bucket=bucket, Key=dataset_manifest_key(dataset_id))["Body"].read()
    manifest = DatasetManifest.model_validate_json(body)

    def exists(image: ExportedImage) -> bool:
        try:
            s3.head_object(Bucket=bucket, Key=key_of_s3_url(image.url, bucket))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    with ThreadPoolExecutor(_HEAD_THREADS) as pool:
        present = list(pool.map(exists, manifest.images))
    erased = {image.id for image, found in zip(manifest.images, present, strict=True) if not found}
    return manifest.without(erased), fetcher(s3, bucket)


def fetcher(s3, bucket: str) -> Fetch:
    def fetch(image: ExportedImage) -> bytes:
        return s3.get_object(Bucket=bucket, Key=key_of_s3_url(image.url, bucket))["Body"].read()

    return fetch
