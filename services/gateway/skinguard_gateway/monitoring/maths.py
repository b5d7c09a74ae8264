"""Monitoring figures from grouped counts: prediction statistics and performance against feedback."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from skinguard_contracts.labels import CLASS_NAMES

from .schemas import ConfidenceBin, Label, Performance, PredictionStats

CONFIDENCE_BINS = 10
LABELS = CLASS_NAMES


@dataclass(frozen=True, slots=True)
class BinCounts:
    """Predictions of one model version whose confidence fell in one bin (1..CONFIDENCE_BINS)."""

    model_name: str
    model_version: int
    bin: int
    count: int
    confidence_sum: float
    malignant: int


@dataclass
class StatsTally:
    count: int = 0
    confidence_sum: float = 0.0
    malignant: int = 0
    bins: list[int] = field(default_factory=lambda: [0] * CONFIDENCE_BINS)

    def add(self, counts: BinCounts) -> None:
        self.count += counts.count
        self.confidence_sum += counts.confidence_sum
        self.malignant += counts.malignant
        self.bins[counts.bin - 1] += counts.count

    def stats(self) -> PredictionStats:
        width = 1 / CONFIDENCE_BINS
        return PredictionStats(
            count=self.count,
            average_confidence=self.confidence_sum / self.count if self.count else None,
            malignant_rate=self.malignant / self.count if self.count else None,
            confidence_histogram=[
                ConfidenceBin(lower=round(index * width, 6), upper=round((index + 1) * width, 6), count=count)
                for index, count in enumerate(self.bins)
            ],
        )


def tally_by_version(rows: Iterable[BinCounts]) -> tuple[StatsTally, dict[tuple[str, int], StatsTally]]:
    overall = StatsTally()
    by_version: defaultdict[tuple[str, int], StatsTally] = defaultdict(StatsTally)
    for row in rows:
        overall.add(row)
        by_version[row.model_name, row.model_version].add(row)
    return overall, dict(sorted(by_version.items()))


def performance(counts: Mapping[tuple[Label, Label], int]) -> Performance:
    """Malignant is the positive class; ``counts`` by (actual label, predicted class)."""
    tp, fp = counts.get(("malignant", "malignant"), 0), counts.get(("benign", "malignant"), 0)
    fn, tn = counts.get(("malignant", "benign"), 0), counts.get(("benign", "benign"), 0)
    total = tp + fp + fn + tn
    return Performance(
        feedback_count=total,
        accuracy=(tp + tn) / total if total else None,
        precision=tp / (tp + fp) if tp + fp else None,
        recall=tp / (tp + fn) if tp + fn else None,
        confusion_matrix={
            actual: {predicted: counts.get((actual, predicted), 0) for predicted in LABELS} for actual in LABELS
        },
    )
