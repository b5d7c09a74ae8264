"""Training metrics on the malignant probability (the decision threshold is chosen after training).

They are named ``auc``, ``precision``, ``recall`` and ``accuracy`` (``val_auc`` ... on the
validation split), the names ``TrainingConfig.monitor`` chooses from.
"""

from __future__ import annotations

import keras

from skinguard_common.training_config import CLASS_NAMES

_MALIGNANT = CLASS_NAMES.index("malignant")


class _OnMalignantProbability:
    """Feed a binary metric the malignant column of the softmax output."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(y_true, y_pred[:, _MALIGNANT], sample_weight=sample_weight)


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
