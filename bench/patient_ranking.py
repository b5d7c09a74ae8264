"""Does a recipe miss isic2020's melanomas across patients or within them?

Reads an ``isic2020-scores.csv`` written by ``bench/quality.py`` and isic2020's metadata, and
prints the pooled ROC AUC next to the mean of the per-patient AUCs (patients with both a
melanoma and a benign photo). A pooled AUC far below the within-patient one means scores shift
from one patient or clinic to the next (something recalibration per site could fix); equal ones
mean the network ranks the lesions themselves poorly.

    .venv/bin/python bench/patient_ranking.py WORK_DIR/isic2020-scores.csv
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np
from compare_scores import read_scores  # bench/, where this script runs from
from quality import DATA
from sklearn.metrics import roc_auc_score

METADATA = DATA / "isic2020" / "metadata.csv"


def patients(metadata: Path = METADATA) -> dict[str, str]:
    """Each isic2020 photo's patient: image file name (without folder) -> patient id."""
    with metadata.open(newline="") as file:
        return {row["image_id"]: row["patient_id"] for row in csv.DictReader(file)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scores", type=Path)
    parser.add_argument("--metadata", type=Path, default=METADATA)
    arguments = parser.parse_args()
    scores = read_scores(arguments.scores)
    patient_of = patients(arguments.metadata)
    by_patient: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for image, scored in scores.items():
        by_patient[patient_of[Path(image).name]].append(scored)
    labels, probabilities = (np.array(column) for column in zip(*scores.values(), strict=True))
    within = [
        roc_auc_score(*zip(*photos, strict=True))
        for photos in by_patient.values()
        if len({label for label, _ in photos}) == 2
    ]
    print(f"pooled ROC AUC {roc_auc_score(labels, probabilities):.3f} over {len(scores)} photos")
    print(f"mean within-patient ROC AUC {np.mean(within):.3f} over {len(within)} patients with both classes")


if __name__ == "__main__":
    main()
