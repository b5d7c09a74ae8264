"""On-device files of a model version, each checked on the test split by its own runtime.

    model_int8.tflite   integer quantised with a representative sample of the training split:
                        the network's weights and activations int8 (builtin int8 kernels only),
                        uint8 input, float output; Shades of Gray, the head and what follows it
                        (TTA average, calibration) stay float
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
import logging
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import tensorflow as tf

from skinguard_contracts.labels import MALIGNANT
from skinguard_contracts.model_files import DEVICE_FILES, DeviceFormat, DeviceModel

from .networks import COLOUR_CONSTANCY_LAYER, HEAD_LAYER, SERVED_PROBABILITY_SCOPE
from .quality import roc_auc, threshold_metrics

logger = logging.getLogger(__name__)
SIGNATURE = "serving_default"
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
REPRESENTATIVE_IMAGES = 200  # training photos the int8 quantiser calibrates its ranges on
ONNX_OPSET = 17
ONNX_BATCH = 32

Predict = Callable[[np.ndarray], np.ndarray]  # uint8 (n, size, size, 3) -> (n, 2)


def representative_sample(train_pixels: np.ndarray, seed: int, count: int = REPRESENTATIVE_IMAGES) -> np.ndarray:
    """A seeded sample of the training split's pixels (never validation or test)."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(train_pixels), size=min(count, len(train_pixels)), replace=False)
    return train_pixels[np.sort(chosen)]


def kept_float(tensor_name: str) -> bool:
    """Whether the int8 file keeps this tensor float: Shades of Gray, the head and what follows it."""
    return (
        f"/{COLOUR_CONSTANCY_LAYER}" in tensor_name
        or f"/{HEAD_LAYER}" in tensor_name
        or tensor_name.startswith(SERVED_PROBABILITY_SCOPE)  # also its uniquified "_1", "_2"
    )


def full_integer_tflite(saved_model_dir: Path, representative: np.ndarray) -> bytes:
    """The network int8; Shades of Gray, the head and calibration float (selective quantisation).

    Quantised, Shades of Gray is wrong on real photos: the mean of pixel**6 of a dark photo
    rounds to zero in int8 and its division then fails (LiteRT div.cc "data[i] != zero_point").
    After the network, int8 steps of 1/256 tie every low probability and the isotonic map's
    ramps span a range so wide that they lose the operating point (a diagnosis head's test AUC
    dropped 0.054, its sensitivity 0.95 -> 0.74). TensorFlow's QuantizationDebugger is the
    documented way to leave chosen nodes in float.
    """
    from ai_edge_litert.interpreter import Interpreter

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir), signature_keys=[SIGNATURE])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]

    def samples(photos: np.ndarray = representative) -> Iterator[list[np.ndarray]]:
        for pixels in photos:
            yield [pixels[None]]

    converter.representative_dataset = samples
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.uint8
    converter.inference_output_type = tf.float32
    options = tf.lite.experimental.QuantizationDebugOptions()
    with warnings.catch_warnings():  # the debugger's own use of the deprecated tf.lite.Interpreter
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=lambda: samples(representative[:1]), debug_options=options
        )
    calibrated = Interpreter(model_content=debugger.calibrated_model)
    outputs = {detail["name"] for detail in calibrated.get_output_details()}  # the final stack, too
    options.denylisted_nodes = [
        tensor["name"]
        for tensor in calibrated.get_tensor_details()
        if tensor["name"] in outputs or kept_float(tensor["name"])
    ]
    return debugger.get_nondebug_quantized_model()


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
    # In batches: a whole test split at once would hold every TTA view's activations in memory.
    return lambda pixels: np.concatenate(
        [
            session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(pixels[start : start + ONNX_BATCH])})[0]
            for start in range(0, len(pixels), ONNX_BATCH)
        ]
    )


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
) -> tuple[list[DeviceModel], dict[str, str]]:
    """Write ``model_int8.tflite`` and ``model.onnx`` beside ``model.tflite`` (already written
    with the SavedModel) and check all three on the test split against the SavedModel's AUC.

    Returns the checked files and, per format that could not be made or run, the reason: an
    optional format never fails the training run, its file is removed and not published."""
    makers: dict[DeviceFormat, Callable[[], bytes] | None] = {
        "tflite_int8": lambda: full_integer_tflite(model_dir, representative),
        "tflite_dynamic": None,  # written by export_model
        "onnx": lambda: onnx_model(model_dir, size),
    }
    runtimes: dict[DeviceFormat, Callable[[bytes], Predict]] = {
        "tflite_int8": tflite_predictor,
        "tflite_dynamic": tflite_predictor,
        "onnx": onnx_predictor,
    }
    devices: list[DeviceModel] = []
    unavailable: dict[str, str] = {}
    for name, make in makers.items():
        path = model_dir / DEVICE_FILES[name][0]
        try:
            if make is not None:
                path.write_bytes(make())
            predict = runtimes[name](path.read_bytes())
            devices.append(_checked(name, path, predict, test_pixels, test_labels, threshold, reference_auc))
        except Exception as error:  # a converter or runtime refusing this graph: recorded, not fatal
            logger.warning("on-device format %s is not available: %s", name, error)
            unavailable[name] = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
            path.unlink(missing_ok=True)
    return devices, unavailable
