"""PNG plots of a training run, drawn with matplotlib's Agg renderer (no display, no pyplot state)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

_DPI = 100


def plot_confusion_matrix(matrix: np.ndarray, class_names: Sequence[str], path: Path) -> None:
    figure = Figure(figsize=(4.5, 4))
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = range(len(class_names))
    axes.set(xticks=ticks, yticks=ticks, xticklabels=class_names, yticklabels=class_names)
    axes.set(xlabel="predicted", ylabel="true", title="Confusion matrix")
    middle = matrix.max() / 2
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(column, row, str(count), ha="center", va="center", color="white" if count > middle else "black")
    figure.savefig(path, dpi=_DPI, bbox_inches="tight")


def plot_roc_curve(
    false_positive_rate: np.ndarray,
    true_positive_rate: np.ndarray,
    auc: float | None,
    path: Path,
    *,
    operating_point: tuple[float, float] | None = None,
) -> None:
    """The ROC curve; ``operating_point`` (1 - specificity, sensitivity) marks the decision threshold."""
    figure = Figure(figsize=(4.5, 4.5))
    axes = figure.add_subplot()
    label = "ROC" if auc is None else f"ROC (AUC {auc:.3f})"
    axes.plot(false_positive_rate, true_positive_rate, label=label)
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    if operating_point is not None:
        axes.plot(*operating_point, marker="o", color="red", linestyle="none", label="decision threshold")
    axes.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC curve", xlim=(0, 1), ylim=(0, 1.02))
    axes.legend(loc="lower right")
    figure.savefig(path, dpi=_DPI, bbox_inches="tight")


def plot_reliability(curves: dict[str, list[dict]], path: Path) -> None:
    """Reliability diagram: malignant share against mean predicted probability per bin (bins as
    ``quality.reliability`` returns them), one line per named curve; the diagonal is perfect."""
    figure = Figure(figsize=(4.5, 4.5))
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, bins in curves.items():
        filled = [b for b in bins if b["count"]]
        axes.plot(
            [b["mean_probability"] for b in filled], [b["malignant_rate"] for b in filled], marker="o", label=name
        )
    axes.set(
        xlabel="predicted malignant probability",
        ylabel="observed malignant share",
        title="Reliability",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    axes.legend(loc="upper left")
    figure.savefig(path, dpi=_DPI, bbox_inches="tight")


def plot_training_curves(history: dict[str, list[float]], path: Path) -> None:
    """One panel per metric (training and validation per epoch), and the learning rate."""
    names = [name for name in history if not name.startswith("val_")]
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = Figure(figsize=(4 * columns, 3 * rows))
    for index, name in enumerate(names, start=1):
        axes = figure.add_subplot(rows, columns, index)
        epochs = range(1, len(history[name]) + 1)
        axes.plot(epochs, history[name], marker=".", label="train")
        if f"val_{name}" in history:
            axes.plot(epochs, history[f"val_{name}"], marker=".", label="validation")
            axes.legend()
        axes.set(title=name, xlabel="epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    figure.savefig(path, dpi=_DPI)
