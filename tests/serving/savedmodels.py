"""Tiny SavedModels shaped like SkinGuard's: uint8 RGB [None, 32, 32, 3] -> softmax over 2 classes.

Each version answers a constant distribution, softmax([bias, 0]), so a response shows which version
produced it. Besides ``serving_default`` (input ``image``, output ``probabilities``) the model has a
``call_count`` signature reporting how many times ``serving_default`` ran: how tests see batching
and warmup from the model's side.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from skinguard_protos.tensorflow_serving.apis import prediction_log_pb2
from skinguard_protos.tensors import to_tensor_proto

from .helpers import IMAGE_SHAPE

WARMUP_RECORDS = 2


class _Classifier(tf.Module):
    def __init__(self, bias: float) -> None:
        super().__init__()
        dense = keras.layers.Dense(2, activation="softmax", kernel_initializer="zeros")
        self.model = keras.Sequential(
            [keras.Input(IMAGE_SHAPE), keras.layers.Rescaling(1 / 255), keras.layers.GlobalAveragePooling2D(), dense]
        )
        dense.bias.assign([bias, 0.0])
        self.calls = tf.Variable(0, dtype=tf.int64)

    @tf.function(input_signature=[tf.TensorSpec([None, *IMAGE_SHAPE], tf.uint8, name="image")])
    def serve(self, image):
        self.calls.assign_add(1)
        return {"probabilities": self.model(tf.cast(image, tf.float32))}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="rows")])
    def call_count(self, rows):
        return {"calls": tf.fill(tf.shape(rows), self.calls.read_value())}


def expected_probabilities(bias: float) -> np.ndarray:
    logits = np.array([bias, 0.0])
    return (np.exp(logits) / np.exp(logits).sum()).astype(np.float32)


def export_classifier(path: Path, bias: float) -> None:
    """Write a SavedModel with TF Serving warmup records in ``assets.extra/``."""
    module = _Classifier(bias)
    tf.saved_model.save(
        module, str(path), signatures={"serving_default": module.serve, "call_count": module.call_count}
    )
    warmup = path / "assets.extra" / "tf_serving_warmup_requests"
    warmup.parent.mkdir()
    with tf.io.TFRecordWriter(str(warmup)) as writer:
        for _ in range(WARMUP_RECORDS):
            log = prediction_log_pb2.PredictionLog()
            log.predict_log.request.inputs["image"].CopyFrom(to_tensor_proto(np.zeros((1, *IMAGE_SHAPE), np.uint8)))
            writer.write(log.SerializeToString())


def install_version(exported: Path, base_path: Path, version: int) -> Path:
    """Copy an export in as ``version`` the way model-sync does: complete, then renamed into place."""
    base_path.mkdir(parents=True, exist_ok=True)
    staging = base_path / f".tmp-{version}"
    shutil.copytree(exported, staging)
    return staging.rename(base_path / str(version))
