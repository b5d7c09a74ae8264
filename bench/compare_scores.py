"""Paired comparison of two recipes on the same held-out photos.

Reads two ``isic2020-scores.csv`` files written by ``bench/quality.py`` (image, label,
probability) and prints each one's ROC AUC and the difference with a paired, class-stratified
bootstrap 95% interval: the same resampled photos score both recipes, so the interval of the
difference is much narrower than the two AUCs' own intervals suggest.

    .venv/bin/python bench/compare_scores.py BASELINE.csv CANDIDATE.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

RESAMPLES = 2000


def read_scores(path: Path) -> dict[str, tuple[int, float]]:
    with path.open(newline="") as file:
        rows = csv.DictReader(file)
        return {row["image"]: (int(row["label"] == "malignant"), float(row["probability"])) for row in rows}


def write_scores(path: Path, images, probabilities) -> None:
    """Each photo's probability (``ExportedImage``s and their scores, in order) as ``read_scores`` reads it."""
    path.write_text(
        "image,label,probability\n"
        + "".join(f"{image.id},{image.label},{p:.6f}\n" for image, p in zip(images, probabilities, strict=True))
    )


def paired_auc_difference(
    labels: np.ndarray, baseline: np.ndarray, candidate: np.ndarray, seed: int = 0
) -> tuple[float, float, float]:
    """The candidate's AUC minus the baseline's, and the 2.5 and 97.5 percentiles of that
    difference over class-stratified bootstrap resamples of the photos (the same for both)."""
    positives, negatives = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    rng = np.random.default_rng(seed)
    differences = np.empty(RESAMPLES)
    for index in range(RESAMPLES):
        drawn = np.concatenate([rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))])
        differences[index] = roc_auc_score(labels[drawn], candidate[drawn]) - roc_auc_score(
            labels[drawn], baseline[drawn]
        )
    low, high = np.percentile(differences, [2.5, 97.5])
    return roc_auc_score(labels, candidate) - roc_auc_score(labels, baseline), float(low), float(high)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("candidate", type=Path)
    arguments = parser.parse_args()
    baseline, candidate = read_scores(arguments.baseline), read_scores(arguments.candidate)
    if baseline.keys() != candidate.keys():
        print("the two files score different photos", file=sys.stderr)
        return 1
    images = sorted(baseline)
    labels = np.array([baseline[image][0] for image in images])
    first = np.array([baseline[image][1] for image in images])
    second = np.array([candidate[image][1] for image in images])
    difference, low, high = paired_auc_difference(labels, first, second)
    print(f"photos {len(images)}, malignant {int(labels.sum())}")
    print(f"ROC AUC baseline {roc_auc_score(labels, first):.3f}, candidate {roc_auc_score(labels, second):.3f}")
    print(f"difference {difference:+.3f} [paired 95% CI {low:+.3f}, {high:+.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
