"""Judge a model's malignant probabilities on labelled photos: metrics at the decision threshold,
ROC AUC with a bootstrap interval, calibration, per-slice results, plots and JSON.

Used on the test split after training (``pipeline``) and on any dataset version by an
evaluation job (``evaluation_job``). What is scored is the exported model's output, so what is
measured is what is served.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_curve

from skinguard_contracts.labels import CLASS_NAMES, MALIGNANT
from skinguard_contracts.manifest import ExportedImage

from .plots import plot_confusion_matrix, plot_reliability, plot_roc_curve
from .quality import bootstrap_auc_interval, reliability, roc_auc, threshold_metrics

PREDICT_BATCH = 32
MIN_SLICE_IMAGES = 10  # smaller slices are counted but not scored
SLICE_ATTRIBUTES = ("source", "body_site", "sex", "age_band", "diagnosis")

Predict = Callable[[np.ndarray], np.ndarray]  # uint8 pixels (n, size, size, 3) -> probabilities (n, 2)


def malignant_probabilities(predict: Predict, pixels: np.ndarray) -> np.ndarray:
    """The malignant column of ``predict`` over ``pixels``, in batches."""
    if not len(pixels):
        return np.zeros(0)
    return np.concatenate(
        [predict(pixels[start : start + PREDICT_BATCH])[:, MALIGNANT] for start in range(0, len(pixels), PREDICT_BATCH)]
    )


def score(
    labels: np.ndarray,
    probabilities: np.ndarray,
    threshold: float,
    *,
    uncalibrated: np.ndarray | None = None,
    attributes: Mapping[str, Sequence[str | None]] | None = None,
) -> dict[str, Any]:
    """Everything measured on one set of photos (JSON-able).

    ``uncalibrated`` (the same photos before calibration) adds the ECE before calibration;
    ``attributes`` (name -> value per photo) adds ``slices``: the same figures per value.
    """
    labels = np.asarray(labels, dtype=int)
    probabilities = np.asarray(probabilities, dtype=float)
    calibration = reliability(labels, probabilities)
    interval = bootstrap_auc_interval(labels, probabilities)
    result = {
        **threshold_metrics(labels, probabilities, threshold),
        "malignant": int(labels.sum()),
        "roc_auc": roc_auc(labels, probabilities),
        "roc_auc_ci95": None if interval is None else list(interval),
        "ece": calibration["ece"],
        "reliability": calibration["bins"],
    }
    if uncalibrated is not None:
        before = reliability(labels, uncalibrated)
        result["ece_uncalibrated"] = before["ece"]
        result["reliability_uncalibrated"] = before["bins"]
    if attributes:
        result["slices"] = {
            name: _slices(labels, probabilities, threshold, values) for name, values in attributes.items()
        }
    return result


def _slices(
    labels: np.ndarray, probabilities: np.ndarray, threshold: float, values: Sequence[str | None]
) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[int]] = {}
    for index, value in enumerate(values):
        groups.setdefault("unknown" if value in (None, "") else str(value), []).append(index)
    slices = {}
    for value, rows in sorted(groups.items()):
        slice_labels, slice_probabilities = labels[rows], probabilities[rows]
        entry: dict[str, Any] = {"samples": len(rows), "malignant": int(slice_labels.sum())}
        if len(rows) >= MIN_SLICE_IMAGES:
            at_threshold = threshold_metrics(slice_labels, slice_probabilities, threshold)
            entry |= {
                "roc_auc": roc_auc(slice_labels, slice_probabilities),
                "sensitivity": at_threshold["sensitivity"] if slice_labels.any() else None,
                "specificity": at_threshold["specificity"] if not slice_labels.all() else None,
                "ece": reliability(slice_labels, slice_probabilities)["ece"],
            }
        slices[value] = entry
    return slices


def slice_attributes(images: Sequence[ExportedImage]) -> dict[str, list[str | None]]:
    """Per photo: its source, body site, sex, age band and diagnosis, from the export's metadata."""
    return {
        "source": [image.metadata.get("source") for image in images],
        "body_site": [_text(image.metadata.get("location") or image.metadata.get("anatom_site")) for image in images],
        "sex": [_text(image.label_field("sex")) for image in images],
        "age_band": [age_band(image.label_field("age")) for image in images],
        "diagnosis": [image.diagnosis or _text(image.label_field("diagnosis")) for image in images],
    }


def age_band(age: Any) -> str | None:
    """Fifteen-year bands, as "30-44"; None for a missing or unreadable age."""
    try:
        years = float(age)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(years) or years < 0:
        return None
    low = int(years // 15) * 15
    return f"{low}-{low + 14}" if low < 75 else "75+"


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value).strip().lower()


def write_report(
    evaluation: dict[str, Any],
    labels: np.ndarray,
    probabilities: np.ndarray,
    out_dir: Path,
    *,
    name: str,
    uncalibrated: np.ndarray | None = None,
) -> Path:
    """``<name>.json`` and ``plots/<name>_{confusion_matrix,roc_curve,reliability}.png`` in ``out_dir``."""
    plots = out_dir / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    plot_confusion_matrix(np.array(evaluation["confusion_matrix"]), CLASS_NAMES, plots / f"{name}_confusion_matrix.png")
    if evaluation["roc_auc"] is not None:
        false_positive_rate, true_positive_rate, _ = roc_curve(labels, probabilities)
        plot_roc_curve(
            false_positive_rate,
            true_positive_rate,
            evaluation["roc_auc"],
            plots / f"{name}_roc_curve.png",
            operating_point=(1 - evaluation["specificity"], evaluation["sensitivity"]),
        )
    curves = {"calibrated": evaluation["reliability"]}
    if uncalibrated is not None:
        curves = {"before calibration": evaluation["reliability_uncalibrated"], **curves}
    plot_reliability(curves, plots / f"{name}_reliability.png")
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(evaluation, indent=2))
    return path
