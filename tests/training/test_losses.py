from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from skinguard_contracts.training_config import TrainingConfig
from skinguard_training.losses import FocalLoss, balanced_class_weights, make_loss

BENIGN, MALIGNANT = 0, 1


def _focal(labels: list[int], malignant_probabilities: list[float], **options: float) -> float:
    probabilities = np.array([[1 - p, p] for p in malignant_probabilities], dtype=np.float32)
    return float(FocalLoss(**options)(np.array(labels), probabilities))


def test_focal_loss_of_a_confident_correct_malignant_prediction() -> None:
    # -alpha * (1 - p)^gamma * ln(p) = -0.25 * 0.1^2 * ln(0.9)
    assert _focal([MALIGNANT], [0.9], gamma=2.0, alpha=0.25) == pytest.approx(2.6340129e-4, rel=1e-5)


def test_focal_loss_weights_benign_samples_by_one_minus_alpha() -> None:
    # -0.75 * 0.1^2 * ln(0.9): p_t is the benign probability, 1 - 0.1
    assert _focal([BENIGN], [0.1], gamma=2.0, alpha=0.25) == pytest.approx(7.9020387e-4, rel=1e-5)


def test_focal_loss_of_a_wrong_prediction_and_the_batch_mean() -> None:
    wrong = -0.25 * 0.8**2 * math.log(0.2)  # malignant given 0.2
    assert wrong == pytest.approx(0.25751006)
    assert _focal([MALIGNANT], [0.2]) == pytest.approx(wrong, rel=1e-5)
    assert _focal([MALIGNANT, BENIGN], [0.2, 0.1]) == pytest.approx((wrong + 7.9020387e-4) / 2, rel=1e-5)


def test_focal_loss_without_focusing_is_weighted_cross_entropy() -> None:
    labels, probabilities = [MALIGNANT, BENIGN, MALIGNANT], [0.7, 0.4, 0.05]
    cross_entropy = float(
        keras.losses.SparseCategoricalCrossentropy()(
            np.array(labels), np.array([[1 - p, p] for p in probabilities], dtype=np.float32)
        )
    )
    assert _focal(labels, probabilities, gamma=0.0, alpha=0.5) == pytest.approx(cross_entropy / 2, rel=1e-5)


def test_focal_loss_survives_certain_predictions() -> None:
    assert np.isfinite(_focal([MALIGNANT, BENIGN], [0.0, 1.0]))


def test_focal_loss_round_trips_through_its_config() -> None:
    restored = keras.losses.deserialize(keras.losses.serialize(FocalLoss(gamma=1.5, alpha=0.6)))
    assert (restored.gamma, restored.alpha) == (1.5, 0.6)


def test_make_loss_follows_the_config() -> None:
    focal = make_loss(TrainingConfig(use_focal_loss=True, focal_gamma=3.0, focal_alpha=0.4))
    assert isinstance(focal, FocalLoss)
    assert (focal.gamma, focal.alpha) == (3.0, 0.4)
    assert isinstance(make_loss(TrainingConfig()), keras.losses.SparseCategoricalCrossentropy)


def test_class_weights_balance_the_train_split() -> None:
    weights = balanced_class_weights(np.array([BENIGN, BENIGN, BENIGN, MALIGNANT]))
    assert weights == pytest.approx({BENIGN: 4 / 6, MALIGNANT: 2.0})
    assert 3 * weights[BENIGN] == pytest.approx(1 * weights[MALIGNANT])


def test_class_weights_need_both_classes() -> None:
    with pytest.raises(ValueError, match="no malignant"):
        balanced_class_weights(np.array([BENIGN, BENIGN]))


def test_diagnosis_loss_by_hand() -> None:
    from skinguard_training.losses import DiagnosisLoss
    from skinguard_training.targets import UNSPECIFIED_BENIGN, UNSPECIFIED_MALIGNANT

    # Outputs over nv, mel, bkl, bcc, akiec, df, vasc; p(malignant) = mel + bcc + akiec = 0.5.
    outputs = np.array([[0.4, 0.3, 0.05, 0.1, 0.1, 0.03, 0.02]] * 3, dtype=np.float32)
    targets = np.array([1, UNSPECIFIED_BENIGN, UNSPECIFIED_MALIGNANT])
    per_sample = DiagnosisLoss(reduction=None)(targets, outputs)
    assert keras.ops.convert_to_numpy(per_sample) == pytest.approx([-math.log(0.3), -math.log(0.5), -math.log(0.5)])
    assert float(DiagnosisLoss()(np.array([0]), outputs[:1])) == pytest.approx(-math.log(0.4))
    assert isinstance(make_loss(TrainingConfig(label_granularity="diagnosis")), DiagnosisLoss)


def test_training_targets_use_known_diagnoses_that_agree_with_the_label() -> None:
    from skinguard_contracts.manifest import ExportedImage
    from skinguard_training.targets import UNSPECIFIED_BENIGN, UNSPECIFIED_MALIGNANT, binary_labels, training_targets

    def image(label: str, **label_metadata) -> ExportedImage:
        return ExportedImage(id=label, url="s3://b/k", label=label, metadata={"label_metadata": label_metadata})

    images = [
        image("malignant", **{"import": {"dx": "bcc"}}),  # HAM10000 imports keep their fields under "import"
        image("benign", diagnosis="seborrheic keratosis"),  # ISIC's words
        image("benign", diagnosis="unknown"),
        image("benign", dx="mel"),  # the consensus label wins over a contradicting diagnosis
        image("malignant"),
    ]
    targets = training_targets(images, "diagnosis")
    assert targets.tolist() == [3, 2, UNSPECIFIED_BENIGN, UNSPECIFIED_BENIGN, UNSPECIFIED_MALIGNANT]
    assert binary_labels(targets, "diagnosis").tolist() == [1, 0, 0, 0, 1]
    assert training_targets(images, "binary").tolist() == [1, 0, 0, 0, 1]
