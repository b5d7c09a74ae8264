"""``train``: the weights it keeps."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from skinguard_contracts.training_config import TrainingConfig
from skinguard_training.train import train

from .conftest import TINY_CONFIG


class _RawWeights(keras.callbacks.Callback):
    """The trainable weights after each training batch (the optimiser's own, not averaged)."""

    def __init__(self) -> None:
        super().__init__()
        self.after_each_batch: list[list[np.ndarray]] = []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.after_each_batch.append([weight.numpy().copy() for weight in self.model.trainable_weights])


def _batches(seed: int) -> tf.data.Dataset:
    generator = np.random.default_rng(seed)
    pixels = generator.uniform(0, 255, size=(16, 32, 32, 3)).astype(np.float32)
    labels = np.array([0, 1] * 8, dtype=np.int32)
    return tf.data.Dataset.from_tensor_slices((pixels, labels)).batch(4)


@pytest.mark.parametrize("momentum", [0.0, 0.6])
def test_weight_averaging_keeps_the_moving_average_of_every_batchs_weights(tmp_path: Path, momentum: float) -> None:
    config = TrainingConfig(**{**TINY_CONFIG, "epochs": 1, "learning_rate": 0.05, "weight_averaging": momentum})
    recorder = _RawWeights()

    result = train(config, _batches(0), _batches(1), work_dir=tmp_path, callbacks=[recorder])

    # By hand: the first batch's weights, then momentum * average + (1 - momentum) * weights.
    steps = recorder.after_each_batch
    expected = steps[0]
    for weights in steps[1:]:
        expected = [momentum * average + (1 - momentum) * new for average, new in zip(expected, weights, strict=True)]
    kept = [weight.numpy() for weight in result.model.trainable_weights]
    assert len(steps) == 4
    for kept_weight, expected_weight in zip(kept, expected, strict=True):
        np.testing.assert_allclose(kept_weight, expected_weight, rtol=1e-5, atol=1e-6)
    if momentum:  # the average is not the last batch's weights
        assert any(not np.allclose(k, last, atol=1e-4) for k, last in zip(kept, steps[-1], strict=True))
