"""TensorFlow Serving warmup records, written without the tensorflow-serving-api package.

TF Serving replays ``assets.extra/tf_serving_warmup_requests`` (a TFRecord file of
``tensorflow.serving.PredictionLog`` messages) when it loads a version, so the first real
request does not pay for graph initialisation. The few messages involved are encoded here on
the protobuf wire by hand; the tensor itself is TensorFlow's own ``TensorProto``. Field numbers
(tensorflow_serving/apis): ``PredictionLog.predict_log = 6``, ``PredictLog.request = 1``,
``PredictRequest.model_spec = 1``, ``PredictRequest.inputs = 2`` (a map: entry ``key = 1``,
``value = 2``), ``ModelSpec.name = 1``, ``ModelSpec.signature_name = 3``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import tensorflow as tf

WARMUP_FILE = Path("assets.extra") / "tf_serving_warmup_requests"

_LENGTH_DELIMITED = 2


def predict_warmup_record(model_name: str, signature_name: str, inputs: Mapping[str, np.ndarray]) -> bytes:
    """One serialised ``PredictionLog`` holding a ``PredictRequest``."""
    model_spec = _field(1, model_name.encode()) + _field(3, signature_name.encode())
    request = _field(1, model_spec) + b"".join(
        _field(2, _field(1, name.encode()) + _field(2, tf.make_tensor_proto(value).SerializeToString()))
        for name, value in inputs.items()
    )
    predict_log = _field(1, request)
    return _field(6, predict_log)


def write_warmup_file(saved_model_dir: Path, records: list[bytes]) -> Path:
    path = saved_model_dir / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    return path


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def _varint(value: int) -> bytes:
    encoded = bytearray()
    while value > 0x7F:
        encoded.append(value & 0x7F | 0x80)
        value >>= 7
    encoded.append(value)
    return bytes(encoded)
