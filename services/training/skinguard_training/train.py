"""Train a model from a config on prepared batches; the best epoch's weights are kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from skinguard_contracts.training_config import TrainingConfig

from .callbacks import TensorBoardScalars
from .keras_metrics import training_metrics
from .losses import make_loss
from .networks import make_model
from .source_adversary import with_source_adversary

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule
_MIN_LEARNING_RATE = 1e-7
_BEST_CHECKPOINT = "best.keras"
_CLASSIFIER_CHECKPOINT = "classifier.keras"


@dataclass(frozen=True)
class TrainResult:
    model: keras.Model  # with the weights of the best epoch
    history: dict[str, list[float]]  # per epoch: loss and metrics, val_ ones, learning_rate
    best_epoch: int  # 1-based, by config.monitor
    checkpoint: Path  # the best epoch's .keras file


def train(
    config: TrainingConfig,
    train_batches: tf.data.Dataset,
    validation_batches: tf.data.Dataset,
    *,
    work_dir: Path,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    class_weight: Mapping[int, float] | None = None,
    weights_dir: Path | None = None,
    sources: int = 1,
) -> TrainResult:
    """Build, compile and fit ``make_model(config)``.

    With ``config.source_adversary`` and more than one of ``sources``, the model fitted is
    ``with_source_adversary`` around it (the batches' inputs then carry the source and the label);
    the classifier alone is returned, and its best epoch saved as ``classifier.keras``.

    Besides ``callbacks`` (progress, cancellation), the run saves checkpoints under
    ``work_dir/checkpoints`` (only the best, or every epoch's), stops early and lowers the
    learning rate on plateaus of ``config.monitor`` when their patience is set, and writes
    TensorBoard scalars to ``work_dir/tensorboard``. Exceptions from callbacks propagate.
    """
    keras.utils.set_random_seed(config.seed)
    classifier = make_model(config, weights_dir)
    adversarial = uses_source_adversary(config, sources)
    model = with_source_adversary(classifier, sources, config.source_adversary) if adversarial else classifier
    steps_per_epoch = int(train_batches.cardinality())
    if steps_per_epoch < 1:
        raise ValueError("the train batches must have a known, non-zero length")
    model.compile(
        optimizer=_optimizer(config, steps_per_epoch),
        loss=make_loss(config),
        metrics=training_metrics(),
    )
    checkpoints = work_dir / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    checkpoint_name = _BEST_CHECKPOINT if config.checkpoint_best_only else "epoch-{epoch:03d}.keras"
    history = model.fit(
        train_batches,
        validation_data=validation_batches,
        epochs=config.epochs,
        shuffle=False,  # the train batches come shuffled
        class_weight=dict(class_weight) if class_weight else None,
        callbacks=[*_standard_callbacks(config, checkpoints / checkpoint_name, work_dir), *callbacks],
        verbose=0,
    )
    per_epoch = {name: [float(value) for value in values] for name, values in history.history.items()}
    monitored = np.array(per_epoch[config.monitor])
    best_epoch = int(np.argmin(monitored) if config.monitor_mode == "min" else np.argmax(monitored)) + 1
    best = checkpoints / (_BEST_CHECKPOINT if config.checkpoint_best_only else f"epoch-{best_epoch:03d}.keras")
    model.load_weights(best)
    if adversarial:
        best = checkpoints / _CLASSIFIER_CHECKPOINT
        classifier.save(best)
    return TrainResult(model=classifier, history=per_epoch, best_epoch=best_epoch, checkpoint=best)


def uses_source_adversary(config: TrainingConfig, sources: int) -> bool:
    """Whether a run on photos from this many sources trains against a source adversary."""
    return config.source_adversary > 0 and sources > 1


def _optimizer(config: TrainingConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    rate = learning_rate(config, steps_per_epoch)
    decay = config.weight_decay or None
    averaging = {"use_ema": True, "ema_momentum": config.weight_averaging} if config.weight_averaging else {}
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay, **averaging)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9, weight_decay=decay, **averaging)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(rate, **averaging)
    return keras.optimizers.Adam(rate, **averaging)


def learning_rate(
    config: TrainingConfig, steps_per_epoch: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """The configured rate, or with ``cosine`` a linear warm-up from 0 then a cosine decay to 0."""
    if config.learning_rate_schedule != "cosine":
        return config.learning_rate
    total = config.epochs * steps_per_epoch
    warmup = min(round(config.warmup_epochs * steps_per_epoch), total - 1)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else config.learning_rate,
        decay_steps=total - warmup,
        warmup_target=config.learning_rate if warmup else None,
        warmup_steps=warmup,
    )


def _standard_callbacks(config: TrainingConfig, checkpoint: Path, work_dir: Path) -> list[keras.callbacks.Callback]:
    monitor = {"monitor": config.monitor, "mode": config.monitor_mode}
    # With weight averaging, the averaged weights are in the model while it is validated and
    # while the callbacks after this one (the checkpoint) run at each epoch's end.
    averaging = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if config.weight_averaging else []
    callbacks: list[keras.callbacks.Callback] = [
        *averaging,
        keras.callbacks.ModelCheckpoint(checkpoint, save_best_only=config.checkpoint_best_only, **monitor),
        TensorBoardScalars(work_dir / "tensorboard"),
    ]
    if config.early_stopping_patience:
        callbacks.append(keras.callbacks.EarlyStopping(patience=config.early_stopping_patience, **monitor))
    if config.learning_rate_schedule == "plateau" and config.reduce_lr_patience:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                factor=config.reduce_lr_factor,
                patience=config.reduce_lr_patience,
                min_lr=_MIN_LEARNING_RATE,
                **monitor,
            )
        )
    return callbacks
