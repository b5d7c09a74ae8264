"""Training objectives: cross-entropy or focal loss over the two classes, and class weights.

Labels are class indices (0 benign, 1 malignant, as ``CLASS_NAMES``); predictions are the
model's softmax probabilities ``(batch, 2)``.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from skinguard_contracts.labels import CLASS_NAMES, MALIGNANT
from skinguard_contracts.training_config import TrainingConfig

from .networks import malignant_probability_of
from .targets import DIAGNOSIS_TARGET_IS_MALIGNANT, UNSPECIFIED_BENIGN, UNSPECIFIED_MALIGNANT


@keras.saving.register_keras_serializable(package="skinguard")
class FocalLoss(keras.losses.Loss):
    """Focal loss (Lin et al. 2017): ``-alpha_t * (1 - p_t) ** gamma * log(p_t)``.

    ``p_t`` is the probability the model gives the true class. ``alpha`` weights malignant
    samples and ``1 - alpha`` benign ones; ``gamma`` shrinks the loss of samples that are
    already classified confidently. ``gamma=0, alpha=0.5`` is half the cross-entropy.
    """

    def __init__(self, gamma: float = 2.0, alpha: float = 0.25, name: str = "focal_loss", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.gamma = gamma
        self.alpha = alpha

    def call(self, y_true, y_pred):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        probabilities = ops.convert_to_tensor(y_pred)
        true_class = ops.take_along_axis(probabilities, labels[:, None], axis=1)[:, 0]
        epsilon = keras.config.epsilon()
        true_class = ops.clip(true_class, epsilon, 1.0 - epsilon)
        alpha = ops.where(ops.equal(labels, MALIGNANT), self.alpha, 1.0 - self.alpha)
        return -alpha * ops.power(1.0 - true_class, self.gamma) * ops.log(true_class)

    def get_config(self) -> dict:
        return {**super().get_config(), "gamma": self.gamma, "alpha": self.alpha}


@keras.saving.register_keras_serializable(package="skinguard")
class SmoothedCrossEntropy(keras.losses.Loss):
    """Cross-entropy against targets smoothed towards uniform: ``(1 - s) * one_hot + s / classes``.

    Keras' sparse cross-entropy has no smoothing, so the class-index labels are one-hot encoded here.
    """

    def __init__(self, smoothing: float, name: str = "cross_entropy", **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.smoothing = smoothing
        self._loss = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing, reduction=None)

    def call(self, y_true, y_pred):
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        return self._loss(ops.one_hot(labels, len(CLASS_NAMES)), y_pred)

    def get_config(self) -> dict:
        return {**super().get_config(), "smoothing": self.smoothing}


@keras.saving.register_keras_serializable(package="skinguard")
class DiagnosisLoss(keras.losses.Loss):
    """Cross-entropy of a diagnosis-level head.

    A target below ``UNSPECIFIED_BENIGN`` is a diagnosis: ``-log p(diagnosis)``. The two targets
    past them know the class only: ``-log p(malignant)`` or ``-log (1 - p(malignant))``, with
    p(malignant) the summed malignant diagnoses (``targets``).
    """

    def __init__(self, name: str = "diagnosis_cross_entropy", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        targets = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        probabilities = ops.convert_to_tensor(y_pred)
        known = ops.minimum(targets, UNSPECIFIED_BENIGN - 1)
        of_diagnosis = ops.take_along_axis(probabilities, known[:, None], axis=1)[:, 0]
        malignant = malignant_probability_of(probabilities)
        of_class = ops.where(ops.equal(targets, UNSPECIFIED_MALIGNANT), malignant, 1.0 - malignant)
        chosen = ops.where(targets < UNSPECIFIED_BENIGN, of_diagnosis, of_class)
        epsilon = keras.config.epsilon()
        return -ops.log(ops.clip(chosen, epsilon, 1.0))


def make_loss(config: TrainingConfig) -> keras.losses.Loss:
    if config.label_granularity == "diagnosis":
        return DiagnosisLoss()
    if config.use_focal_loss:
        return FocalLoss(gamma=config.focal_gamma, alpha=config.focal_alpha)
    if config.label_smoothing:
        return SmoothedCrossEntropy(config.label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy(name="cross_entropy")


def target_weights(labels: np.ndarray, granularity: str) -> dict[int, float]:
    """``balanced_class_weights`` keyed by training target: every diagnosis weighs as its class."""
    weights = balanced_class_weights(labels)
    if granularity == "binary":
        return weights
    return {target: weights[int(malignant)] for target, malignant in enumerate(DIAGNOSIS_TARGET_IS_MALIGNANT)}


def balanced_class_weights(labels: np.ndarray) -> dict[int, float]:
    """Weights ``n / (classes * n_class)``: each class contributes equally to the loss.

    Raises ``ValueError`` when a class has no sample: it could not be learnt.
    """
    counts = np.bincount(labels, minlength=len(CLASS_NAMES))
    if not counts.all():
        absent = [name for name, count in zip(CLASS_NAMES, counts, strict=True) if count == 0]
        raise ValueError(f"no {' or '.join(absent)} image to weight")
    return {index: float(len(labels) / (len(CLASS_NAMES) * count)) for index, count in enumerate(counts)}
