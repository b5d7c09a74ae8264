"""Evaluating a published model version on any dataset version: a clinic checking a model on its
own photos before trusting it, and the gate's external check.

What is evaluated is the exported SavedModel itself (TTA and calibration included) at the
version's decision threshold, so the figures are what TF Serving would answer. The report
(``evaluation.json``, ROC, reliability and confusion-matrix PNGs) is uploaded under
``evaluations/<model>/<version>/<evaluation id>/``; the result is stored on the evaluation's row
and the version's model card is rewritten to list it.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from skinguard_contracts.keys import (
    MODEL_CARD_JSON,
    MODEL_CARD_MARKDOWN,
    MODEL_METADATA,
    evaluation_prefix,
    model_prefix,
)
from skinguard_contracts.labels import SplitName
from skinguard_contracts.manifest import DatasetManifest, ExportedImage
from skinguard_contracts.model_files import DEVICE_FILES, ModelMetadata
from skinguard_database import sync_engine
from skinguard_registry.records import JobState, ModelEvaluation, ModelVersion
from skinguard_runtime.storage import s3_client

from .data import Fetch, load_images
from .dataset_source import job_dataset
from .errors import DatasetError
from .evaluate import malignant_probabilities, score, slice_attributes, write_report
from .image_cache import PixelCache
from .jobs import now, upload_directory
from .model_card import summary, write_model_card
from .model_export import load_served

logger = logging.getLogger(__name__)
_NOT_DOWNLOADED = ("tensorboard/", "plots/", *(file for file, _ in DEVICE_FILES.values()))


@dataclass(frozen=True)
class EvaluationOutcome:
    evaluation: dict[str, Any]  # as evaluation.json
    report_dir: Path
    probabilities: np.ndarray  # the served malignant probability of each image, in order


def dataset_images(manifest: DatasetManifest, split: SplitName | None) -> list[ExportedImage]:
    """The manifest's images of ``split`` (all of them when None), in the manifest's order."""
    images = list(manifest.images)
    if split is not None:
        wanted = set(manifest.splits.of(split))
        images = [image for image in images if image.id in wanted]
    if not images:
        raise DatasetError(f"the dataset has no {split or ''} images to evaluate on".replace("  ", " "))
    return images


def evaluate_directory(
    model_dir: Path,
    images: Sequence[ExportedImage],
    fetch: Fetch,
    *,
    cache: PixelCache,
    work_dir: Path,
    should_cancel: Callable[[], bool] = lambda: False,
) -> EvaluationOutcome:
    """Score the SavedModel in ``model_dir`` (with its metadata.json) on ``images``."""
    metadata = ModelMetadata.model_validate_json((model_dir / MODEL_METADATA).read_text())
    loaded = load_images("evaluation", list(images), fetch, metadata.input_size, cache, work_dir, should_cancel)
    probabilities = malignant_probabilities(load_served(model_dir), loaded.pixels)
    evaluation = score(loaded.labels, probabilities, metadata.decision_threshold, attributes=slice_attributes(images))
    report_dir = work_dir / "report"
    write_report(evaluation, loaded.labels, probabilities, report_dir, name="evaluation")
    return EvaluationOutcome(evaluation=evaluation, report_dir=report_dir, probabilities=probabilities)


def result_of(evaluation: dict[str, Any], manifest: DatasetManifest, split: str | None) -> dict[str, Any]:
    """What the API stores and returns: headline figures, confusion matrix, slices, the dataset."""
    return {
        **summary(evaluation),
        "confusion_matrix": evaluation["confusion_matrix"],
        "slices": evaluation.get("slices", {}),
        "dataset_id": manifest.dataset.id,
        "dataset_name": manifest.dataset.name,
        "dataset_version": manifest.dataset.version,
        "split": split,
    }


def download_version(s3, bucket: str, model_name: str, version: int, directory: Path) -> Path:
    """The files of a version needed to run and describe it (not its logs, plots or TFLite)."""
    prefix = model_prefix(model_name, version)
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            if not relative or relative.startswith(_NOT_DOWNLOADED):
                continue
            target = directory / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
            count += 1
    if not (directory / "saved_model.pb").is_file():
        raise DatasetError(f"version {version} of {model_name} has no SavedModel in S3 (found {count} files)")
    return directory


def external_results(session: Session, model_name: str, version: int) -> list[dict[str, Any]]:
    """The version's finished evaluations, oldest first, for its model card."""
    rows = session.scalars(
        select(ModelEvaluation)
        .where(
            ModelEvaluation.model_name == model_name,
            ModelEvaluation.version == version,
            ModelEvaluation.state == JobState.succeeded,
        )
        .order_by(ModelEvaluation.finished_at)
    )
    return [
        {
            "evaluation_id": str(row.id),
            "purpose": row.purpose,
            **{key: value for key, value in (row.result or {}).items() if key not in ("slices", "confusion_matrix")},
        }
        for row in rows
    ]


def refresh_model_card(session: Session, s3, bucket: str, model_name: str, version: int, model_dir: Path) -> None:
    """Rewrite the version's model_card.{json,md} in S3 with its gate decision and evaluations.

    Runs in the transaction that finishes an evaluation, before it commits, so whoever sees the
    evaluation succeeded finds it on the card. A per-version lock makes concurrent evaluations
    write the card one after another's commit, so none is left off.
    """
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"model-card:{model_name}:{version}"))))
    gate = session.scalar(
        select(ModelVersion.gate).where(ModelVersion.model_name == model_name, ModelVersion.version == version)
    )
    external = external_results(session, model_name, version)
    write_model_card(model_dir, version=version, gate=gate, external=external)
    prefix = model_prefix(model_name, version)
    for name in (MODEL_CARD_JSON, MODEL_CARD_MARKDOWN):
        s3.upload_file(str(model_dir / name), bucket, prefix + name)


def run_evaluation_job(settings, evaluation_id: uuid.UUID) -> str:
    """The Celery task's body: claim the row, evaluate, store the result, refresh the card."""
    engine = sync_engine(settings.database_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions() as session, session.begin():
        row = session.scalar(select(ModelEvaluation).where(ModelEvaluation.id == evaluation_id).with_for_update())
        if row is None or row.state.finished:
            engine.dispose()
            return "not run"
        if row.state is JobState.running and row.attempts >= settings.max_attempts:
            _finish(row, JobState.failed, f"the worker was lost {row.attempts} times during the evaluation")
            engine.dispose()
            return "lost too often"
        row.state, row.attempts, row.started_at, row.error = JobState.running, row.attempts + 1, now(), None
        model_name, version, split = row.model_name, row.version, cast(SplitName | None, row.split)
    s3 = s3_client(settings)
    work_dir = settings.work_dir / f"evaluation-{evaluation_id}"
    shutil.rmtree(work_dir, ignore_errors=True)
    try:
        model_dir = download_version(s3, settings.s3_bucket, model_name, version, work_dir / "model")
        manifest, fetch = job_dataset(s3, settings.s3_bucket, evaluation_id)
        outcome = evaluate_directory(
            model_dir,
            dataset_images(manifest, split),
            fetch,
            cache=settings.image_cache(),
            work_dir=work_dir / "data",
        )
        prefix = evaluation_prefix(model_name, version, evaluation_id)
        upload_directory(s3, settings.s3_bucket, outcome.report_dir, prefix)
        with sessions() as session, session.begin():
            row = session.get_one(ModelEvaluation, evaluation_id, with_for_update=True)
            row.result = result_of(outcome.evaluation, manifest, split)
            row.artifact_url = f"s3://{settings.s3_bucket}/{prefix}"
            _finish(row, JobState.succeeded, None)
            refresh_model_card(session, s3, settings.s3_bucket, model_name, version, model_dir)
        return "succeeded"
    except Exception as error:
        logger.exception("evaluation failed", extra={"evaluation_id": str(evaluation_id)})
        with sessions() as session, session.begin():
            row = session.get(ModelEvaluation, evaluation_id, with_for_update=True)
            if row is not None and not row.state.finished:
                _finish(row, JobState.failed, f"{type(error).__name__}: {error}"[:2000])
        return "failed"
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
        engine.dispose()


def _finish(row: ModelEvaluation, state: JobState, error: str | None) -> None:
    row.state, row.error, row.finished_at = state, error, now()
