"""Publishable files of a trained model: a SavedModel for TF Serving, a TFLite file, metadata.

One directory holds everything of a model version (it becomes ``models/<name>/<version>/``):

    saved_model.pb, fingerprint.pb, variables/      the SavedModel
    assets.extra/tf_serving_warmup_requests         replayed by TF Serving on load
    model.tflite                                    dynamic-range quantised, for phones
    model_int8.tflite, model.onnx                   full-integer TFLite and ONNX (device_models)
    metadata.json                                   what a client needs to know (write_metadata)

Signatures (both output ``probabilities``: float32 ``(batch, 2)`` over ``CLASS_NAMES``):
``serving_default`` takes ``image``: uint8 ``(batch, size, size, 3)``, RGB from ``to_model_input``;
``serving_float32`` takes the same pixels as float32 0-255 (for clients that hold floats).
The TFLite file has the ``serving_default`` signature.

The served graph is the whole decision path, so TF Serving answers exactly what was evaluated:
the photo's test-time-augmentation views (flips, or all 8 flips and rotations) go through the
Keras model in one batch, their malignant probabilities are averaged, and the calibrator fitted
on validation maps the average to a calibrated probability.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from skinguard_contracts.keys import MODEL_METADATA
from skinguard_contracts.labels import BENIGN, CLASS_NAMES, MALIGNANT
from skinguard_contracts.model_files import DeviceModel, ModelMetadata
from skinguard_contracts.training_config import TestTimeAugmentation, TrainingConfig

from .calibration import Calibrator
from .networks import (
    NORMALISATION,
    NORMALISATION_DESCRIPTIONS,
    SERVED_PROBABILITY_SCOPE,
    SHADES_OF_GRAY_POWER,
    malignant_probability_of,
)
from .quality import OperatingPoint
from .warmup import predict_warmup_record, write_warmup_file

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
DEFAULT_SIGNATURE = "serving_default"
FLOAT_SIGNATURE = "serving_float32"
_WARMUP_GREY = 128
_EPSILON = 1e-7
UNCALIBRATED = Calibrator("none")


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    saved_model_bytes: int  # saved_model.pb, fingerprint.pb and variables/
    tflite_path: Path
    tflite_bytes: int
    warmup_path: Path


def export_model(
    model: keras.Model,
    directory: Path,
    *,
    model_name: str,
    test_time_augmentation: TestTimeAugmentation = "none",
    calibrator: Calibrator = UNCALIBRATED,
) -> ExportResult:
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

        @tf.function(input_signature=[tf.TensorSpec((None, size, size, 3), dtype, name=INPUT_NAME)])
        def serve(image: tf.Tensor) -> dict[str, tf.Tensor]:
            malignant = malignant_probability(model, image, test_time_augmentation)
            with tf.name_scope(SERVED_PROBABILITY_SCOPE):
                return {OUTPUT_NAME: class_probabilities(calibrate(malignant, calibrator))}

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


def views(images: tf.Tensor, test_time_augmentation: TestTimeAugmentation) -> list[tf.Tensor]:
    """The photo as the model sees it for test-time augmentation: itself, mirrored and flipped
    (``flips``), and transposed too (``dihedral``: all 8 flips and 90-degree rotations)."""
    if test_time_augmentation == "none":
        return [images]
    flips = [images, images[:, :, ::-1], images[:, ::-1], images[:, ::-1, ::-1]]
    if test_time_augmentation == "flips":
        return flips
    return flips + [tf.transpose(view, (0, 2, 1, 3)) for view in flips]


def malignant_probability(
    model: keras.Model, images: tf.Tensor, test_time_augmentation: TestTimeAugmentation
) -> tf.Tensor:
    """The model's malignant probability ``(batch,)``, averaged over the views (one model call)."""
    pixels = tf.cast(images, tf.float32)
    seen = views(pixels, test_time_augmentation)
    outputs = model(tf.concat(seen, axis=0), training=False)
    with tf.name_scope(SERVED_PROBABILITY_SCOPE):
        probabilities = malignant_probability_of(outputs)
        return tf.reduce_mean(tf.reshape(probabilities, (len(seen), -1)), axis=0)


def calibrate(probabilities: tf.Tensor, calibrator: Calibrator) -> tf.Tensor:
    """``calibrator.apply`` in TensorFlow ops that TFLite's built-in kernels run."""
    if calibrator.method == "temperature":
        clipped = tf.clip_by_value(probabilities, _EPSILON, 1 - _EPSILON)
        # log(1 - p), not log1p(-p): onnxruntime has no Log1p kernel, and p is clipped away from 0 and 1.
        return tf.sigmoid((tf.math.log(clipped) - tf.math.log(1 - clipped)) / calibrator.temperature)
    if calibrator.method == "isotonic":
        # Linear interpolation as a sum of clipped ramps, one per segment between knots.
        x, y = (np.array(column, dtype=np.float32) for column in zip(*calibrator.knots, strict=True))
        widths = np.maximum(np.diff(x), 1e-12)
        ramps = tf.clip_by_value((probabilities[:, None] - x[:-1]) / widths, 0.0, 1.0)
        return y[0] + tf.reduce_sum(ramps * np.diff(y), axis=1)
    return probabilities


def class_probabilities(malignant: tf.Tensor) -> tf.Tensor:
    """``(batch, 2)`` in ``CLASS_NAMES`` order from malignant probabilities ``(batch,)``."""
    columns = {BENIGN: 1 - malignant, MALIGNANT: malignant}
    return tf.stack([columns[index] for index in range(len(CLASS_NAMES))], axis=1)


def write_metadata(
    export: ExportResult,
    *,
    config: TrainingConfig,
    evaluation: dict[str, Any],
    model_name: str,
    dataset: dict[str, Any],
    operating: OperatingPoint,
    calibrator: Calibrator,
    risk_thresholds: dict[str, float],
    best_epoch: int,
    devices: Sequence[DeviceModel] = (),
    devices_unavailable: Mapping[str, str] | None = None,
) -> Path:
    """Write ``metadata.json`` next to the SavedModel: what a client and the gateway need to know.

    ``dataset`` holds its id, version, split sizes and sources; ``evaluation`` is the test
    split's; ``operating`` and ``calibrator`` were fitted on validation; ``devices`` are the
    on-device files with their own test results (``device_models``).
    """
    size = config.input_size
    colour = (
        f"Shades of Gray colour constancy (p = {SHADES_OF_GRAY_POWER:g}), then "
        if config.colour_constancy == "shades_of_gray"
        else ""
    )
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
            f"skinguard_imaging.to_model_input(image_bytes, {size}): decode, apply the EXIF "
            f"orientation, RGB, resize the whole image to {size}x{size} (cv2.INTER_AREA when shrinking, "
            "else cv2.INTER_LINEAR); uint8 0-255. Inside the model: "
            f"{colour}{NORMALISATION_DESCRIPTIONS[NORMALISATION[config.model_type]]}."
        ),
        "test_time_augmentation": config.test_time_augmentation,
        "calibration": calibrator.as_dict(),
        "decision_threshold": operating.threshold,
        "operating_point": operating.as_dict(),
        "risk_thresholds": risk_thresholds,
        "best_epoch": best_epoch,
        "metrics": {
            name: evaluation[name]
            for name in (
                "accuracy",
                "precision",
                "recall",
                "sensitivity",
                "specificity",
                "roc_auc",
                "roc_auc_ci95",
                "ece",
                "ece_uncalibrated",
                "samples",
                "malignant",
            )
            if name in evaluation
        },
        "dataset": dataset,
        "config": config.model_dump(mode="json"),
        "sizes": {"saved_model_bytes": export.saved_model_bytes, "tflite_bytes": export.tflite_bytes},
        "devices": [device.model_dump() for device in devices],
        "devices_unavailable": dict(devices_unavailable or {}),
        "code_version": code_version(),
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = export.directory / MODEL_METADATA
    path.write_text(ModelMetadata.model_validate(metadata).model_dump_json(indent=2))
    return path


def load_served(directory: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The exported SavedModel's ``serving_default`` as a numpy function: uint8 pixels -> (n, 2)."""
    serve = tf.saved_model.load(str(directory)).signatures[DEFAULT_SIGNATURE]
    return lambda pixels: serve(**{INPUT_NAME: tf.constant(pixels)})[OUTPUT_NAME].numpy()


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
