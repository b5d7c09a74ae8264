"""One training run, from a dataset export to a published model directory:
load -> train -> calibrate and choose the operating point on validation -> export -> evaluate on test.

This is what the Celery task and the CLI call. Files under ``work_dir``:

    arrays/<split>.npy      the split's pixels (uint8 memory map)
    image-cache/            decoded images by content hash, unless a ``cache`` is given
    checkpoints/            best (or every) epoch, Keras format
    export/                 the model version: SavedModel, model.tflite, metadata.json,
                            model_card.{json,md}, evaluation.json, validation.json, history.json,
                            plots/*.png, tensorboard/ (see ``export`` and ``model_card``)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from pydantic import ValidationError

from skinguard_contracts.manifest import DatasetManifest
from skinguard_contracts.training_config import TrainingConfig

from .augment import augmentation_policy
from .calibration import Calibrator, fit_calibration
from .callbacks import CancelFn, CancellationCheck, ProgressFn, ProgressReporter
from .data import Fetch, SplitData, load_splits, make_dataset
from .device_models import export_device_models, representative_sample
from .errors import DatasetError, TrainingCancelled
from .evaluate import Predict, malignant_probabilities, score, slice_attributes, write_report
from .image_cache import PixelCache
from .losses import target_weights
from .model_card import training_data_summary, write_model_card
from .model_export import (
    ExportResult,
    class_probabilities,
    export_model,
    load_served,
    malignant_probability,
    write_metadata,
)
from .plots import plot_training_curves
from .quality import OperatingPoint, operating_point, risk_band_rates, risk_thresholds, threshold_metrics
from .source_adversary import source_indices
from .targets import training_targets
from .train import TrainResult, train, uses_source_adversary


@dataclass(frozen=True)
class RunResult:
    export: ExportResult  # directory, saved_model_bytes, tflite_path, tflite_bytes, warmup_path
    metadata_path: Path
    evaluation: dict[str, Any]  # as evaluation.json: test metrics at the decision threshold
    history: dict[str, list[float]]
    best_epoch: int  # 1-based
    checkpoint: Path  # the best epoch's Keras file (before TTA and calibration)
    operating_point: OperatingPoint  # chosen on validation
    calibrator: Calibrator


def run_training(
    export_manifest: Mapping[str, Any] | DatasetManifest,
    fetch: Fetch,
    config: TrainingConfig,
    work_dir: Path,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    *,
    cache: PixelCache | None = None,
    model_name: str = "skinguard",
    dataset_id: str | None = None,
    dataset_version: int | str | None = None,
    weights_dir: Path | None = None,
) -> RunResult:
    """Train ``config`` on the export's train split, pick the best epoch on validation, fit the
    calibration and the decision threshold on validation, export, and evaluate the exported
    model on the test split.

    ``fetch`` returns an image's bytes from its export entry (S3, HTTP, file). ``on_progress``
    gets ``(epoch, batch, metrics)`` as ``ProgressReporter`` describes; ``should_cancel`` is asked
    while images load and before every batch (keep it cheap). A rerun in the same ``work_dir``
    starts over, reusing the image cache.

    Raises ``DatasetError`` for a malformed export or an image that cannot be fetched or decoded,
    ``TrainingCancelled`` when cancelled (nothing is exported).
    """
    try:
        export = DatasetManifest.model_validate(export_manifest)
    except ValidationError as error:
        raise DatasetError(f"invalid dataset export: {error}") from error
    if export.empty_splits():
        raise DatasetError(f"the dataset has no {' or '.join(export.empty_splits())} images; training needs all three")
    cancel = should_cancel or (lambda: False)
    export_dir = work_dir / "export"
    for stale in (export_dir, work_dir / "checkpoints"):
        shutil.rmtree(stale, ignore_errors=True)

    splits = load_splits(
        export,
        fetch,
        size=config.input_size,
        cache=cache or PixelCache(work_dir / "image-cache"),
        arrays_dir=work_dir / "arrays",
        should_cancel=cancel,
    )
    callbacks: list = [CancellationCheck(cancel)]
    if on_progress is not None:
        callbacks.append(ProgressReporter(on_progress, config.log_every_n_batches))
    trained = _train(config, export, splits, work_dir, callbacks, weights_dir)
    if cancel():
        raise TrainingCancelled("training cancelled before export")

    uncalibrated = _uncalibrated_predictor(trained.model, config)
    diagnoses = np.array([image.diagnosis for image in export.split("validation")], dtype=object)
    fitted = fit_on_validation(config, splits["validation"], uncalibrated, diagnoses)
    exported = export_model(
        trained.model,
        export_dir,
        model_name=model_name,
        test_time_augmentation=config.test_time_augmentation,
        calibrator=fitted.calibrator,
    )
    shutil.copytree(work_dir / "tensorboard", export_dir / "tensorboard", dirs_exist_ok=True)
    evaluation = evaluate_on_test(export, splits["test"], exported.directory, uncalibrated, fitted)
    devices, devices_unavailable = export_device_models(
        exported.directory,
        size=config.input_size,
        representative=representative_sample(splits["train"].pixels, config.seed),
        test_pixels=splits["test"].pixels,
        test_labels=splits["test"].labels,
        threshold=fitted.operating_point.threshold,
        reference_auc=evaluation["roc_auc"],
    )
    (exported.directory / "validation.json").write_text(_json(fitted.report))
    (exported.directory / "history.json").write_text(_json(trained.history))
    plot_training_curves(trained.history, exported.directory / "plots" / "training_curves.png")
    chosen, calibrator, risk = fitted.operating_point, fitted.calibrator, fitted.risk_thresholds

    dataset = {
        "id": dataset_id,
        "version": dataset_version,
        "images": {name: len(split) for name, split in splits.items()},
        **training_data_summary(export),
    }
    metadata_path = write_metadata(
        exported,
        config=config,
        evaluation=evaluation,
        model_name=model_name,
        dataset=dataset,
        operating=chosen,
        calibrator=calibrator,
        risk_thresholds=risk,
        best_epoch=trained.best_epoch,
        devices=devices,
        devices_unavailable=devices_unavailable,
    )
    write_model_card(exported.directory)
    return RunResult(
        export=exported,
        metadata_path=metadata_path,
        evaluation=evaluation,
        history=trained.history,
        best_epoch=trained.best_epoch,
        checkpoint=trained.checkpoint,
        operating_point=chosen,
        calibrator=calibrator,
    )


def choose_operating_point(
    config: TrainingConfig, labels: np.ndarray, probabilities: np.ndarray, diagnoses: np.ndarray
) -> OperatingPoint:
    """The fixed ``decision_threshold``, or the highest threshold reaching ``target_sensitivity``
    (per malignant diagnosis too with ``sensitivity_per_diagnosis``), with the sensitivity and
    specificity it has on these (validation) photos."""
    if len(np.unique(labels)) < 2:
        raise DatasetError("the validation split needs benign and malignant images to choose the operating point")
    if config.decision_threshold is None:
        per_diagnosis = diagnoses if config.sensitivity_per_diagnosis else None
        return operating_point(labels, probabilities, config.target_sensitivity, per_diagnosis)
    at = threshold_metrics(labels, probabilities, config.decision_threshold)
    return OperatingPoint(config.decision_threshold, at["sensitivity"], at["specificity"])


def _uncalibrated_predictor(model: keras.Model, config: TrainingConfig) -> Predict:
    """The trained model with the config's test-time augmentation, before calibration."""
    size = config.input_size
    predict = tf.function(
        lambda images: class_probabilities(malignant_probability(model, images, config.test_time_augmentation)),
        input_signature=[tf.TensorSpec((None, size, size, 3), tf.uint8)],
    )
    return lambda pixels: predict(tf.constant(pixels)).numpy()


def _json(value: Any) -> str:
    return json.dumps(value, indent=2)


@dataclass(frozen=True)
class ValidationFit:
    """What is fitted on the validation split after training: calibration, operating point, risk bands."""

    calibrator: Calibrator
    operating_point: OperatingPoint
    risk_thresholds: dict[str, float]
    report: dict[str, Any]  # validation.json


def fit_on_validation(
    config: TrainingConfig, validation: SplitData, uncalibrated: Predict, diagnoses: np.ndarray
) -> ValidationFit:
    """``diagnoses``: each validation photo's diagnosis code from the label metadata, or None."""
    raw = malignant_probabilities(uncalibrated, validation.pixels)
    calibrator = fit_calibration(config.calibration, validation.labels, raw, seed=config.seed)
    calibrated = calibrator.apply(raw)
    chosen = choose_operating_point(config, validation.labels, calibrated, diagnoses)
    report = {
        **threshold_metrics(validation.labels, calibrated, chosen.threshold),
        "samples": len(validation),
        "calibration": calibrator.as_dict(),
    }
    return ValidationFit(calibrator, chosen, risk_thresholds(validation.labels, calibrated, chosen.threshold), report)


def evaluate_on_test(
    export: DatasetManifest, test: SplitData, model_dir: Path, uncalibrated: Predict, fitted: ValidationFit
) -> dict[str, Any]:
    """The exported model (as served) on the test split, with the ECE before calibration; writes the report."""
    served = malignant_probabilities(load_served(model_dir), test.pixels)
    raw = malignant_probabilities(uncalibrated, test.pixels)
    threshold = fitted.operating_point.threshold
    evaluation = score(
        test.labels, served, threshold, uncalibrated=raw, attributes=slice_attributes(export.split("test"))
    )
    evaluation["operating_point"] = fitted.operating_point.as_dict()
    evaluation["risk_levels"] = risk_band_rates(test.labels, served, fitted.risk_thresholds, threshold)
    write_report(evaluation, test.labels, served, model_dir, name="evaluation", uncalibrated=raw)
    return evaluation


def _train(
    config: TrainingConfig,
    export: DatasetManifest,
    splits: dict,
    work_dir: Path,
    callbacks: list,
    weights_dir: Path | None,
) -> TrainResult:
    granularity = config.label_granularity
    trained_on = len(splits["train"])
    sources, names = source_indices([*export.split("train"), *export.split("validation")])
    adversarial = uses_source_adversary(config, len(np.unique(sources[:trained_on])))
    return train(
        config,
        make_dataset(
            splits["train"],
            config.batch_size,
            shuffle=True,
            augmentation=augmentation_policy(config),
            seed=config.seed,
            targets=training_targets(export.split("train"), granularity),
            sources=sources[:trained_on] if adversarial else None,
        ),
        make_dataset(
            splits["validation"],
            config.batch_size,
            targets=training_targets(export.split("validation"), granularity),
            sources=sources[trained_on:] if adversarial else None,
        ),
        work_dir=work_dir,
        callbacks=callbacks,
        class_weight=target_weights(splits["train"].labels, granularity) if config.use_class_weights else None,
        weights_dir=weights_dir,
        sources=len(names) if adversarial else 1,
    )
