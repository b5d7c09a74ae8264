"""Training metrics on the malignant probability (the decision threshold is chosen after training).

They are named ``auc``, ``precision``, ``recall`` and ``accuracy`` (``val_auc`` ... on the
validation split), the names ``TrainingConfig.monitor`` chooses from.
"""

from __future__ import annotations

import keras
from keras import ops

from skinguard_contracts.labels import CLASS_NAMES

from .networks import malignant_probability_of
from .targets import DIAGNOSIS_TARGET_IS_MALIGNANT


class _OnMalignantProbability:
    """Feed a binary metric p(malignant) and whether the image is malignant, from a two-class or a
    diagnosis-level head (whose targets are diagnosis indices)."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        targets = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        if y_pred.shape[-1] != len(CLASS_NAMES):
            targets = ops.take(ops.convert_to_tensor(DIAGNOSIS_TARGET_IS_MALIGNANT), targets)
        return super().update_state(targets, malignant_probability_of(y_pred), sample_weight=sample_weight)


@keras.saving.register_keras_serializable(package="skinguard")
class MalignantAUC(_OnMalignantProbability, keras.metrics.AUC):
    pass


@keras.saving.register_keras_serializable(package="skinguard")
class MalignantPrecision(_OnMalignantProbability, keras.metrics.Precision):
    pass


@keras.saving.register_keras_serializable(package="skinguard")
class MalignantRecall(_OnMalignantProbability, keras.metrics.Recall):
    pass


@keras.saving.register_keras_serializable(package="skinguard")
class MalignantAccuracy(_OnMalignantProbability, keras.metrics.BinaryAccuracy):
    pass


def training_metrics(threshold: float = 0.5) -> list[keras.metrics.Metric]:
    return [
        MalignantAUC(name="auc"),
        MalignantAccuracy(name="accuracy", threshold=threshold),
        MalignantPrecision(name="precision", thresholds=threshold),
        MalignantRecall(name="recall", thresholds=threshold),
    ]
