"""Keras callbacks that connect a training run to the job that started it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import keras
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from .errors import TrainingCancelled

ProgressFn = Callable[[int, int, dict[str, float]], None]
CancelFn = Callable[[], bool]


class ProgressReporter(keras.callbacks.Callback):
    """Calls ``on_progress(epoch, batch, metrics)`` (1-based) every ``every_n_batches`` batches
    with the epoch's running training metrics, and after each epoch with the last batch number
    and the epoch's metrics, validation ones included."""

    def __init__(self, on_progress: ProgressFn, every_n_batches: int) -> None:
        super().__init__()
        self._on_progress = on_progress
        self._every_n_batches = every_n_batches
        self._epoch = 0
        self._batches = 0

    def on_epoch_begin(self, epoch: int, logs: Mapping | None = None) -> None:
        self._epoch = epoch + 1
        self._batches = 0

    def on_train_batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        self._batches = batch + 1
        if self._batches % self._every_n_batches == 0:
            self._on_progress(self._epoch, self._batches, _floats(logs))

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        self._on_progress(epoch + 1, self._batches, _floats(logs))


class CancellationCheck(keras.callbacks.Callback):
    """Raises ``TrainingCancelled`` before the next training or validation batch once
    ``should_cancel()`` is true, so at most the batch in progress completes."""

    def __init__(self, should_cancel: CancelFn) -> None:
        super().__init__()
        self._should_cancel = should_cancel
        self._epoch = 0

    def on_epoch_begin(self, epoch: int, logs: Mapping | None = None) -> None:
        self._epoch = epoch + 1

    def on_train_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        self._check(f"epoch {self._epoch}, before training batch {batch + 1}")

    def on_test_batch_begin(self, batch: int, logs: Mapping | None = None) -> None:
        self._check(f"epoch {self._epoch}, before validation batch {batch + 1}")

    def _check(self, where: str) -> None:
        if self._should_cancel():
            raise TrainingCancelled(f"training cancelled at {where}")


def _floats(logs: Mapping | None) -> dict[str, float]:
    return {name: float(value) for name, value in (logs or {}).items()}


class TensorBoardScalars(keras.callbacks.Callback):
    """Per-epoch loss, metrics and learning rate as TensorBoard scalars (``train/``, ``validation/``).

    Written with TensorFlow's own summary op and the scalars plugin's metadata, which is what
    ``keras.callbacks.TensorBoard`` writes but without needing the ``tensorboard`` package.
    """

    def __init__(self, log_dir: Path) -> None:
        super().__init__()
        self._writers = {
            split: tf.summary.create_file_writer(str(log_dir / split)) for split in ("train", "validation")
        }
        self._metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
        )

    def on_epoch_end(self, epoch: int, logs: Mapping | None = None) -> None:
        for name, value in _floats(logs).items():
            split = "validation" if name.startswith("val_") else "train"
            with self._writers[split].as_default():
                tf.summary.write(f"epoch_{name.removeprefix('val_')}", value, step=epoch + 1, metadata=self._metadata)

    def on_train_end(self, logs: Mapping | None = None) -> None:
        for writer in self._writers.values():
            writer.close()
