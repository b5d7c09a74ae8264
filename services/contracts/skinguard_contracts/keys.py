"""Where each kind of object lives in the bucket: the S3 layout, one builder per kind.

images/<sha256>                                 an uploaded photo (ingestion writes, others read)
datasets/<dataset id>/manifest.json             a frozen dataset version (annotation)
jobs/<job or evaluation id>/dataset.json        the export a queued job runs on (annotation)
models/<name>/versions.json                     the versions index model-sync follows (registry)
models/<name>/<version>/...                     a model version's files (training worker)
evaluations/<name>/<version>/<evaluation id>/   an evaluation's report (training worker)
"""

from __future__ import annotations

import uuid

IMAGES_PREFIX = "images/"
MODELS_PREFIX = "models/"
DATASETS_PREFIX = "datasets/"
JOBS_PREFIX = "jobs/"
VERSIONS_INDEX = "versions.json"
MODEL_METADATA = "metadata.json"
MODEL_CARD_JSON = "model_card.json"
MODEL_CARD_MARKDOWN = "model_card.md"


def image_key(sha256: str) -> str:
    return f"{IMAGES_PREFIX}{sha256}"


def dataset_manifest_key(dataset_id: uuid.UUID | str) -> str:
    return f"{DATASETS_PREFIX}{dataset_id}/manifest.json"


def job_dataset_key(job_id: uuid.UUID | str) -> str:
    """The dataset export (erased images already left out) a training or evaluation job runs on."""
    return f"{JOBS_PREFIX}{job_id}/dataset.json"


def model_prefix(model_name: str, version: int) -> str:
    return f"{MODELS_PREFIX}{model_name}/{version}/"


def versions_index_key(model_name: str) -> str:
    return f"{MODELS_PREFIX}{model_name}/{VERSIONS_INDEX}"


def model_metadata_key(model_name: str, version: int) -> str:
    return model_prefix(model_name, version) + MODEL_METADATA


def model_card_key(model_name: str, version: int) -> str:
    return model_prefix(model_name, version) + MODEL_CARD_JSON


def model_plots_prefix(model_name: str, version: int) -> str:
    """The version's PNG plots: training curves, and ROC, confusion matrix and reliability per split."""
    return model_prefix(model_name, version) + "plots/"


def evaluation_prefix(model_name: str, version: int, evaluation_id: uuid.UUID | str) -> str:
    """Reports of evaluations live beside, not inside, the version folder model-sync copies."""
    return f"evaluations/{model_name}/{version}/{evaluation_id}/"


def key_of_s3_url(url: str, bucket: str) -> str:
    """``s3://<bucket>/<key>`` -> ``<key>``; refuses another bucket or scheme."""
    prefix = f"s3://{bucket}/"
    if not url.startswith(prefix):
        raise ValueError(f"{url!r} is not an object of bucket {bucket!r}")
    return url[len(prefix) :]
