"""One training run, from a dataset export to a published model directory: load -> train -> export -> evaluate.

This is what the Celery task and the CLI call. Files under ``work_dir``:

    arrays/<split>.npy      the split's pixels (uint8 memory map)
    image-cache/            decoded images by content hash, unless ``cache_dir`` points elsewhere
    checkpoints/            best (or every) epoch, Keras format
    tensorboard/            TensorBoard logs
    export/                 the model version: SavedModel, model.tflite, metadata.json,
                            evaluation.json, history.json, plots/*.png (see ``export``)
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tensorflow as tf
from pydantic import ValidationError

from skinguard_common.training_config import TrainingConfig

from .callbacks import CancelFn, CancellationCheck, ProgressFn, ProgressReporter
from .data import PixelCache, load_splits, make_dataset
from .dataset_export import DatasetExport, Fetch
from .errors import DatasetError, TrainingCancelled
from .evaluate import evaluate
from .export import DEFAULT_SIGNATURE, INPUT_NAME, OUTPUT_NAME, ExportResult, export_model, write_metadata
from .losses import balanced_class_weights
from .train import train


@dataclass(frozen=True)
class RunResult:
    export: ExportResult  # directory, saved_model_bytes, tflite_path, tflite_bytes, warmup_path
    metadata_path: Path
    evaluation: dict[str, Any]  # as evaluation.json: test metrics at the decision threshold
    history: dict[str, list[float]]
    best_epoch: int  # 1-based


def run_training(
    export_manifest: Mapping[str, Any] | DatasetExport,
    fetch: Fetch,
    config: TrainingConfig,
    work_dir: Path,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    *,
    cache_dir: Path | None = None,
    model_name: str = "skinguard",
    dataset_id: str | None = None,
    dataset_version: int | str | None = None,
) -> RunResult:
    """Train ``config`` on the export's train split, pick the best epoch on validation, export it
    and evaluate the exported model on the test split.

    ``fetch`` returns an image's bytes from its export entry (S3, HTTP, file). ``on_progress``
    gets ``(epoch, batch, metrics)`` as ``ProgressReporter`` describes; ``should_cancel`` is asked
    while images load and before every batch (keep it cheap). A rerun in the same ``work_dir``
    starts over, reusing the image cache.

    Raises ``DatasetError`` for a malformed export or an image that cannot be fetched or decoded,
    ``TrainingCancelled`` when cancelled (nothing is exported).
    """
    try:
        export = DatasetExport.model_validate(export_manifest)
    except ValidationError as error:
        raise DatasetError(f"invalid dataset export: {error}") from error
    cancel = should_cancel or (lambda: False)
    export_dir = work_dir / "export"
    for stale in (export_dir, work_dir / "checkpoints"):
        shutil.rmtree(stale, ignore_errors=True)

    splits = load_splits(
        export,
        fetch,
        size=config.input_size,
        cache=PixelCache(cache_dir or work_dir / "image-cache"),
        arrays_dir=work_dir / "arrays",
        should_cancel=cancel,
    )
    strength = config.augmentation_strength if config.augmentation else None
    callbacks: list = [CancellationCheck(cancel)]
    if on_progress is not None:
        callbacks.append(ProgressReporter(on_progress, config.log_every_n_batches))
    trained = train(
        config,
        make_dataset(
            splits["train"], config.batch_size, shuffle=True, augmentation_strength=strength, seed=config.seed
        ),
        make_dataset(splits["validation"], config.batch_size),
        work_dir=work_dir,
        callbacks=callbacks,
        class_weight=balanced_class_weights(splits["train"].labels) if config.use_class_weights else None,
    )
    if cancel():
        raise TrainingCancelled("training cancelled before export")

    exported = export_model(trained.model, export_dir, model_name=model_name)
    serve = tf.saved_model.load(str(exported.directory)).signatures[DEFAULT_SIGNATURE]
    evaluation = evaluate(
        lambda pixels: serve(**{INPUT_NAME: tf.constant(pixels)})[OUTPUT_NAME].numpy(),
        splits["test"],
        threshold=config.decision_threshold,
        history=trained.history,
        out_dir=exported.directory,
    )
    dataset = {
        "id": dataset_id,
        "version": dataset_version,
        "images": {name: len(split) for name, split in splits.items()},
    }
    metadata_path = write_metadata(
        exported, config=config, evaluation=evaluation, model_name=model_name, dataset=dataset
    )
    return RunResult(
        export=exported,
        metadata_path=metadata_path,
        evaluation=evaluation,
        history=trained.history,
        best_epoch=trained.best_epoch,
    )
