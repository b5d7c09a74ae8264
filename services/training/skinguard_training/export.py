"""Publishable files of a trained model: a SavedModel for TF Serving, a TFLite file, metadata.

One directory holds everything of a model version (it becomes ``models/<name>/<version>/``):

    saved_model.pb, fingerprint.pb, variables/      the SavedModel
    assets.extra/tf_serving_warmup_requests         replayed by TF Serving on load
    model.tflite                                    dynamic-range quantised, for phones
    metadata.json                                   what a client needs to know (write_metadata)

Signatures (both output ``probabilities``: float32 ``(batch, 2)``, softmax over ``CLASS_NAMES``):
``serving_default`` takes ``image``: uint8 ``(batch, size, size, 3)``, RGB from ``to_model_input``;
``serving_float32`` takes the same pixels as float32 0-255 (for clients that hold floats).
The TFLite file has the ``serving_default`` signature.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from skinguard_common.training_config import CLASS_NAMES, TrainingConfig

from .models import NORMALISATION, NORMALISATION_DESCRIPTIONS
from .warmup import predict_warmup_record, write_warmup_file

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
DEFAULT_SIGNATURE = "serving_default"
FLOAT_SIGNATURE = "serving_float32"
_WARMUP_GREY = 128


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    saved_model_bytes: int  # saved_model.pb, fingerprint.pb and variables/
    tflite_path: Path
    tflite_bytes: int
    warmup_path: Path


def export_model(model: keras.Model, directory: Path, *, model_name: str) -> ExportResult:
    """Write the SavedModel, its warmup records and the TFLite file into an empty ``directory``.

    ``model_name`` is the name TF Serving serves the model under (used in the warmup requests).
    """
    if directory.exists() and any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty")
    size = model.input_shape[1]
    # A tf.Module holding the model's tf.Variables once. keras.export.ExportArchive (Keras 3.15)
    # stores each variable twice, and tracking the Keras model itself breaks the TFLite conversion.
    serving = tf.Module()
    serving.weights = [variable.value for variable in model.weights]
    signatures = {}
    for name, dtype in ((DEFAULT_SIGNATURE, tf.uint8), (FLOAT_SIGNATURE, tf.float32)):
        serve = tf.function(
            lambda image: {OUTPUT_NAME: model(tf.cast(image, tf.float32), training=False)},
            input_signature=[tf.TensorSpec((None, size, size, 3), dtype, name=INPUT_NAME)],
        )
        signatures[name] = serve.get_concrete_function()
    tf.saved_model.save(serving, str(directory), signatures=signatures)
    saved_model_bytes = _tree_bytes(directory)

    grey = np.full((1, size, size, 3), _WARMUP_GREY, dtype=np.uint8)
    warmup_path = write_warmup_file(
        directory,
        [
            predict_warmup_record(model_name, DEFAULT_SIGNATURE, {INPUT_NAME: grey}),
            predict_warmup_record(model_name, FLOAT_SIGNATURE, {INPUT_NAME: grey.astype(np.float32)}),
        ],
    )
    tflite_path = directory / "model.tflite"
    tflite_path.write_bytes(_dynamic_range_tflite(directory))
    return ExportResult(
        directory=directory,
        saved_model_bytes=saved_model_bytes,
        tflite_path=tflite_path,
        tflite_bytes=tflite_path.stat().st_size,
        warmup_path=warmup_path,
    )


def write_metadata(
    export: ExportResult,
    *,
    config: TrainingConfig,
    evaluation: dict[str, Any],
    model_name: str,
    dataset: dict[str, Any],
) -> Path:
    """Write ``metadata.json`` next to the SavedModel; ``dataset`` holds its id, version and split sizes."""
    size = config.input_size
    metadata = {
        "model_name": model_name,
        "class_names": list(CLASS_NAMES),
        "input": {
            "name": INPUT_NAME,
            "signature": DEFAULT_SIGNATURE,
            "dtype": "uint8",
            "shape": [None, size, size, 3],
            "float32_signature": FLOAT_SIGNATURE,
        },
        "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": [None, len(CLASS_NAMES)]},
        "input_size": size,
        "preprocessing": (
            f"skinguard_common.imaging.to_model_input(image_bytes, {size}): decode, apply the EXIF "
            f"orientation, RGB, resize the whole image to {size}x{size} (cv2.INTER_AREA when shrinking, "
            "else cv2.INTER_LINEAR); uint8 0-255. Normalisation is inside the model: "
            f"{NORMALISATION_DESCRIPTIONS[NORMALISATION[config.model_type]]}."
        ),
        "decision_threshold": config.decision_threshold,
        "metrics": {
            name: evaluation[name]
            for name in ("accuracy", "precision", "recall", "sensitivity", "specificity", "roc_auc", "samples")
        },
        "dataset": dataset,
        "config": config.model_dump(mode="json"),
        "sizes": {"saved_model_bytes": export.saved_model_bytes, "tflite_bytes": export.tflite_bytes},
        "code_version": code_version(),
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = export.directory / "metadata.json"
    path.write_text(json.dumps(metadata, indent=2))
    return path


def code_version() -> str:
    """The git commit of this code (``-dirty`` with uncommitted changes), else the package version."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=40"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return described.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"skinguard-training {importlib.metadata.version('skinguard-training')}"


def _dynamic_range_tflite(saved_model_dir: Path) -> bytes:
    """Weights stored as int8, activations kept float: no calibration data needed."""
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=[DEFAULT_SIGNATURE])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def _tree_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.rglob("*") if path.is_file())
