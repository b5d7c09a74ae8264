"""Judge a trained model on the test split: metrics at the decision threshold, ROC, plots, JSON.

Malignant is the positive class: sensitivity (= recall) is the share of malignant lesions
called malignant, specificity the share of benign lesions called benign.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from skinguard_common.training_config import CLASS_NAMES

from .data import SplitData
from .plots import plot_confusion_matrix, plot_roc_curve, plot_training_curves

_MALIGNANT = CLASS_NAMES.index("malignant")
_PREDICT_BATCH = 32

Predict = Callable[[np.ndarray], np.ndarray]  # uint8 pixels (n, size, size, 3) -> probabilities (n, 2)


def evaluate(
    predict: Predict,
    test: SplitData,
    *,
    threshold: float,
    history: dict[str, list[float]],
    out_dir: Path,
) -> dict[str, Any]:
    """Score ``test`` with ``predict`` (the exported model, so what is measured is what is served),
    write ``evaluation.json``, ``history.json`` and ``plots/*.png`` to ``out_dir`` and return the
    evaluation (JSON-able)."""
    probabilities = np.concatenate(
        [predict(test.pixels[start : start + _PREDICT_BATCH]) for start in range(0, len(test), _PREDICT_BATCH)]
    )[:, _MALIGNANT]
    evaluation = classification_metrics(test.labels, probabilities, threshold)
    false_positive_rate, true_positive_rate, _ = roc_curve(test.labels, probabilities)
    plots = out_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    plot_confusion_matrix(np.array(evaluation["confusion_matrix"]), CLASS_NAMES, plots / "confusion_matrix.png")
    plot_roc_curve(false_positive_rate, true_positive_rate, evaluation["roc_auc"], plots / "roc_curve.png")
    plot_training_curves(history, plots / "training_curves.png")
    (out_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=2))
    (out_dir / "history.json").write_text(json.dumps(history, indent=2))
    return evaluation


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray, threshold: float) -> dict[str, Any]:
    """Metrics of malignant probabilities against labels (1 = malignant).

    ``roc_auc`` is ``None`` when the labels hold one class only; a ratio whose denominator is
    zero (no predicted or no actual sample of a class) is 0.0, as scikit-learn reports it.
    """
    labels = np.asarray(labels, dtype=int)
    predicted = (np.asarray(probabilities) >= threshold).astype(int)
    matrix = np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    (true_negative, false_positive), (false_negative, true_positive) = matrix.tolist()
    report = _classification_report(matrix)
    false_positive_rate, true_positive_rate, _ = roc_curve(labels, probabilities)
    single_class = len(np.unique(labels)) < len(CLASS_NAMES)
    return {
        "threshold": threshold,
        "samples": len(labels),
        "accuracy": report["accuracy"],
        "precision": _ratio(true_positive, true_positive + false_positive),
        "recall": _ratio(true_positive, true_positive + false_negative),
        "sensitivity": _ratio(true_positive, true_positive + false_negative),
        "specificity": _ratio(true_negative, true_negative + false_positive),
        "roc_auc": None if single_class else float(np.trapezoid(true_positive_rate, false_positive_rate)),
        "confusion_matrix": matrix.tolist(),  # rows: true class, columns: predicted, as CLASS_NAMES
        "classification_report": report,
    }


def roc_curve(labels: np.ndarray, probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct probability used as the threshold.

    Starts at (0, 0) with an infinite threshold; tied probabilities form one step, so the area
    under the curve counts a tie as half a correct ordering.
    """
    labels = np.asarray(labels, dtype=int)
    order = np.argsort(-np.asarray(probabilities), kind="stable")
    scores, sorted_labels = np.asarray(probabilities)[order], labels[order]
    last_of_each_score = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(sorted_labels)[last_of_each_score]
    false_positives = (last_of_each_score + 1) - true_positives
    positives, negatives = max(true_positives[-1], 1), max(false_positives[-1], 1)
    return (
        np.r_[0.0, false_positives / negatives],
        np.r_[0.0, true_positives / positives],
        np.r_[np.inf, scores[last_of_each_score]],
    )


def _classification_report(matrix: np.ndarray) -> dict[str, Any]:
    """Per-class precision, recall, F1 and support with macro and weighted averages (scikit-learn's layout)."""
    support = matrix.sum(axis=1)
    rows = {}
    for index, name in enumerate(CLASS_NAMES):
        precision = _ratio(matrix[index, index], matrix[:, index].sum())
        recall = _ratio(matrix[index, index], support[index])
        f1 = _ratio(2 * precision * recall, precision + recall)
        rows[name] = {"precision": precision, "recall": recall, "f1-score": f1, "support": int(support[index])}
    keys = ("precision", "recall", "f1-score")
    weights = support / max(support.sum(), 1)
    return {
        **rows,
        "accuracy": _ratio(np.trace(matrix), matrix.sum()),
        "macro avg": {
            **{key: float(np.mean([rows[name][key] for name in CLASS_NAMES])) for key in keys},
            "support": int(support.sum()),
        },
        "weighted avg": {
            **{
                key: float(sum(w * rows[name][key] for w, name in zip(weights, CLASS_NAMES, strict=True)))
                for key in keys
            },
            "support": int(support.sum()),
        },
    }


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0
