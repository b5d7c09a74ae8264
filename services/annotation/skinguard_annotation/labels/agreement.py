"""Inter-annotator agreement: Cohen's kappa per pair and Fleiss' kappa overall.

Both compare observed agreement with the agreement expected by chance from the label
frequencies. Kappa is undefined (None) when chance agreement is already total (every label
the same): there is nothing to agree beyond chance.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from skinguard_contracts.labels import CLASS_NAMES as LABELS

Vote = tuple[uuid.UUID, uuid.UUID, str]  # (image_id, annotator_id, label)


@dataclass(frozen=True)
class PairAgreement:
    annotator_a: uuid.UUID
    annotator_b: uuid.UUID
    images: int
    observed_agreement: float
    kappa: float | None


@dataclass(frozen=True)
class OverallAgreement:
    images: int
    annotators: int
    labels: int
    fleiss_kappa: float | None


def _kappa(observed: float, chance: float) -> float | None:
    if np.isclose(chance, 1.0):
        return None
    return float((observed - chance) / (1.0 - chance))


def cohen_kappa(labels_a: list[str], labels_b: list[str]) -> tuple[float, float | None]:
    """Observed agreement and Cohen's kappa of two raters over the same items."""
    a, b = np.array(labels_a), np.array(labels_b)
    observed = float(np.mean(a == b))
    chance = float(sum(np.mean(a == label) * np.mean(b == label) for label in LABELS))
    return observed, _kappa(observed, chance)


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa for an items x categories matrix of label counts (raters may vary per item)."""
    counts = counts[counts.sum(axis=1) >= 2]
    if len(counts) == 0:
        return None
    raters = counts.sum(axis=1)
    per_item = ((counts**2).sum(axis=1) - raters) / (raters * (raters - 1))
    shares = counts.sum(axis=0) / raters.sum()
    return _kappa(float(per_item.mean()), float((shares**2).sum()))


def pairwise_agreement(votes: Iterable[Vote]) -> list[PairAgreement]:
    by_annotator: dict[uuid.UUID, dict[uuid.UUID, str]] = defaultdict(dict)
    for image_id, annotator_id, label in votes:
        by_annotator[annotator_id][image_id] = label
    pairs = []
    for a, b in itertools.combinations(sorted(by_annotator, key=str), 2):
        shared = sorted(by_annotator[a].keys() & by_annotator[b].keys(), key=str)
        if not shared:
            continue
        observed, kappa = cohen_kappa([by_annotator[a][i] for i in shared], [by_annotator[b][i] for i in shared])
        pairs.append(PairAgreement(a, b, len(shared), observed, kappa))
    return pairs


def overall_agreement(votes: Iterable[Vote]) -> OverallAgreement:
    votes = list(votes)
    per_image: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0] * len(LABELS))
    for image_id, _, label in votes:
        per_image[image_id][LABELS.index(label)] += 1
    counts = np.array(list(per_image.values()), dtype=float).reshape(-1, len(LABELS))
    return OverallAgreement(
        images=int((counts.sum(axis=1) >= 2).sum()),
        annotators=len({annotator for _, annotator, _ in votes}),
        labels=len(votes),
        fleiss_kappa=fleiss_kappa(counts),
    )
