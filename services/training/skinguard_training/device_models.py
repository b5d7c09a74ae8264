"""On-device files of a model version, each checked on the test split by its own runtime.

    model_int8.tflite   integer quantised with a representative sample of the training split:
                        the network's weights and activations int8 (builtin int8 kernels only),
                        uint8 input, float output; Shades of Gray and the calibration stay float
    model.tflite        dynamic-range weights (float activations), as before
    model.onnx          the same graph for onnxruntime (onnxruntime-web in apps): the TF.js
                        converter (``tensorflowjs``) does not install against this TensorFlow
                        (only 3.18 resolves, and it fails on import with NumPy 2), so ONNX via
                        tf2onnx is the browser and JavaScript format

Every file takes the served graph's input — uint8 RGB pixels ``(batch, size, size, 3)`` from the
shared preprocessing — and answers ``probabilities`` over ``CLASS_NAMES``, test-time
augmentation and calibration included. TFLite files run with LiteRT (``ai-edge-litert``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf

from skinguard_contracts.labels import MALIGNANT
from skinguard_contracts.model_files import DEVICE_FILES, DeviceFormat, DeviceModel

from .quality import roc_auc, threshold_metrics

SIGNATURE = "serving_default"
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
REPRESENTATIVE_IMAGES = 200  # training photos the int8 quantiser calibrates its ranges on
ONNX_OPSET = 17

Predict = Callable[[np.ndarray], np.ndarray]  # uint8 (n, size, size, 3) -> (n, 2)


def representative_sample(train_pixels: np.ndarray, seed: int, count: int = REPRESENTATIVE_IMAGES) -> np.ndarray:
    """A seeded sample of the training split's pixels (never validation or test)."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(train_pixels), size=min(count, len(train_pixels)), replace=False)
    return train_pixels[np.sort(chosen)]


def full_integer_tflite(saved_model_dir: Path, representative: np.ndarray) -> bytes:
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=[SIGNATURE])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def samples() -> Iterator[list[np.ndarray]]:
        for pixels in representative:
            yield [pixels[None]]

    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.float32
    return converter.convert()


def onnx_model(saved_model_dir: Path, size: int) -> bytes:
    import tf2onnx

    loaded = tf.saved_model.load(str(saved_model_dir))  # referenced below: its variables must stay alive
    spec = [tf.TensorSpec((None, size, size, 3), tf.uint8, name=INPUT_NAME)]
    function = tf.function(lambda image: loaded.signatures[SIGNATURE](image=image), input_signature=spec)
    proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=ONNX_OPSET)
    return proto.SerializeToString()


def tflite_predictor(content: bytes) -> Predict:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=content).get_signature_runner(SIGNATURE)
    # One photo per call: the converted graphs have a fixed batch of 1 after quantisation.
    return lambda pixels: np.concatenate([runner(**{INPUT_NAME: one[None]})[OUTPUT_NAME] for one in pixels])


def onnx_predictor(content: bytes) -> Predict:
    import onnxruntime

    session = onnxruntime.InferenceSession(content, providers=["CPUExecutionProvider"])
    return lambda pixels: session.run([OUTPUT_NAME], {INPUT_NAME: pixels})[0]


def _checked(
    format_name: DeviceFormat,
    path: Path,
    predict: Predict,
    test_pixels: np.ndarray,
    test_labels: np.ndarray,
    threshold: float,
    reference_auc: float | None,
) -> DeviceModel:
    content = path.read_bytes()
    malignant = predict(test_pixels)[:, MALIGNANT]
    auc = roc_auc(test_labels, malignant)
    at = threshold_metrics(test_labels, malignant, threshold)
    return DeviceModel(
        format=format_name,
        file=path.name,
        runtime=DEVICE_FILES[format_name][1],
        bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        input_dtype="uint8",
        test_auc=auc,
        test_sensitivity=at["sensitivity"],
        test_specificity=at["specificity"],
        auc_drop=None if auc is None or reference_auc is None else round(reference_auc - auc, 6),
    )


def export_device_models(
    model_dir: Path,
    *,
    size: int,
    representative: np.ndarray,
    test_pixels: np.ndarray,
    test_labels: np.ndarray,
    threshold: float,
    reference_auc: float | None,
) -> list[DeviceModel]:
    """Write ``model_int8.tflite`` and ``model.onnx`` beside ``model.tflite`` (already written
    with the SavedModel) and check all three on the test split against the SavedModel's AUC."""
    int8 = model_dir / DEVICE_FILES["tflite_int8"][0]
    int8.write_bytes(full_integer_tflite(model_dir, representative))
    onnx = model_dir / DEVICE_FILES["onnx"][0]
    onnx.write_bytes(onnx_model(model_dir, size))
    dynamic = model_dir / DEVICE_FILES["tflite_dynamic"][0]
    checks: list[tuple[DeviceFormat, Path, Predict]] = [
        ("tflite_int8", int8, tflite_predictor(int8.read_bytes())),
        ("tflite_dynamic", dynamic, tflite_predictor(dynamic.read_bytes())),
        ("onnx", onnx, onnx_predictor(onnx.read_bytes())),
    ]
    return [
        _checked(name, path, predict, test_pixels, test_labels, threshold, reference_auc)
        for name, path, predict in checks
    ]
