from __future__ import annotations

import numpy as np
import pytest

from skinguard_training.evaluate import classification_metrics, roc_curve


def test_metrics_at_the_threshold() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    probabilities = np.array([0.1, 0.4, 0.6, 0.2, 0.9, 0.55, 0.3])

    metrics = classification_metrics(labels, probabilities, threshold=0.5)

    # benign: 3 right, 1 called malignant (0.6); malignant: 2 found, 1 missed (0.3).
    assert metrics["confusion_matrix"] == [[3, 1], [1, 2]]
    assert metrics["accuracy"] == pytest.approx(5 / 7)
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == metrics["sensitivity"] == pytest.approx(2 / 3)
    assert metrics["specificity"] == pytest.approx(3 / 4)
    # Of the 12 malignant-benign pairs 9 are ordered right: 0.55 is below 0.6, 0.3 below 0.4 and 0.6.
    assert metrics["roc_auc"] == pytest.approx(9 / 12)
    report = metrics["classification_report"]
    assert report["malignant"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1-score": 2 / 3, "support": 3})
    assert report["benign"]["f1-score"] == pytest.approx(0.75)
    assert report["macro avg"]["recall"] == pytest.approx((3 / 4 + 2 / 3) / 2)
    assert report["weighted avg"]["recall"] == pytest.approx(5 / 7)


def test_a_stricter_threshold_trades_sensitivity_for_specificity() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    probabilities = np.array([0.1, 0.4, 0.6, 0.2, 0.9, 0.55, 0.3])
    metrics = classification_metrics(labels, probabilities, threshold=0.7)
    assert (metrics["sensitivity"], metrics["specificity"]) == pytest.approx((1 / 3, 1.0))


def test_tied_scores_count_as_half_ordered() -> None:
    assert classification_metrics(np.array([0, 1]), np.array([0.5, 0.5]), 0.5)["roc_auc"] == pytest.approx(0.5)
    assert classification_metrics(np.array([0, 0, 1]), np.array([0.2, 0.7, 0.7]), 0.5)["roc_auc"] == pytest.approx(0.75)


def test_one_class_only_has_no_auc_and_no_division_by_zero() -> None:
    metrics = classification_metrics(np.array([0, 0, 0]), np.array([0.1, 0.2, 0.3]), 0.5)
    assert metrics["roc_auc"] is None
    assert (metrics["precision"], metrics["recall"], metrics["specificity"]) == (0.0, 0.0, 1.0)


def test_roc_curve_runs_from_the_origin_to_the_corner() -> None:
    false_positive_rate, true_positive_rate, thresholds = roc_curve(
        np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.4, 0.1])
    )
    assert false_positive_rate.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert true_positive_rate.tolist() == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert thresholds[0] == np.inf and thresholds[1:].tolist() == [0.9, 0.8, 0.4, 0.1]
