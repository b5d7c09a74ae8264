"""Do acquisition artefacts move a recipe's scores on isic2020's benign photos?

Reads ``isic2020-scores.csv`` files written by ``bench/quality.py`` and, per benign photo, marks
two artefacts that separate HAM10000's classes: a dark dermatoscope ring (any 16-pixel corner of
the 160-pixel photo darker than 50 of 255 on average) and thin dark strokes such as hair (the
share of pixels a 9-pixel black-hat filter lifts above 20). For each file it prints how far
benign photos with the artefact score above those without, as a ROC AUC (0.5: the artefact
does not move the score) and the scores' Spearman correlation with the stroke share.

    .venv/bin/python bench/artefact_scores.py WORK_DIR/isic2020-scores.csv [MORE.csv ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from compare_scores import read_scores  # bench/, where this script runs from
from quality import DATA
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

SIDE = 160
CORNER = 16
DARK = 50
BLACK_HAT_KERNEL = 9
STROKE_LIFT = 20


def artefacts(path: Path) -> tuple[bool, float]:
    """(dark ring, stroke share) of one photo, at the training size."""
    grey = cv2.resize(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    corners = [grey[:CORNER, :CORNER], grey[:CORNER, -CORNER:], grey[-CORNER:, :CORNER], grey[-CORNER:, -CORNER:]]
    ring = min(float(corner.mean()) for corner in corners) < DARK
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (BLACK_HAT_KERNEL, BLACK_HAT_KERNEL))
    strokes = float((cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, kernel) > STROKE_LIFT).mean())
    return ring, strokes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scores", type=Path, nargs="+")
    arguments = parser.parse_args()
    runs = {path: read_scores(path) for path in arguments.scores}
    benign = sorted(image for image, (label, _) in next(iter(runs.values())).items() if label == 0)
    marks = [artefacts(DATA / "isic2020" / "images" / f"{Path(image).name}.jpg") for image in benign]
    ring = np.array([mark[0] for mark in marks])
    strokes = np.array([mark[1] for mark in marks])
    print(f"{len(benign)} benign photos: {ring.sum()} with a dark ring; median stroke share {np.median(strokes):.3f}")
    for path, scores in runs.items():
        probability = np.array([scores[image][1] for image in benign])
        lift = roc_auc_score(ring, probability)
        rho = spearmanr(strokes, probability).statistic
        print(f"{path}: ring raises benign scores AUC {lift:.3f}; Spearman with strokes {rho:+.3f}")


if __name__ == "__main__":
    main()
