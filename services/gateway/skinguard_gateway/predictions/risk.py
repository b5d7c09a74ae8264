"""From class probabilities to what a patient is shown: the class, its confidence and a risk level."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from skinguard_contracts.model_files import ModelMetadata

PredictedClass = Literal["Benign", "Malignant"]
RiskLevel = Literal["low", "low-medium", "medium", "medium-high", "high"]


@dataclass(frozen=True, slots=True)
class Assessment:
    predicted_class: PredictedClass
    confidence: float  # probability of the predicted class
    risk_level: RiskLevel


def assess(probabilities: tuple[float, float], metadata: ModelMetadata) -> Assessment:
    """Malignant from the version's decision threshold; risk from its risk thresholds (original rules by default)."""
    benign, malignant = probabilities
    thresholds = metadata.risk_thresholds
    if malignant >= metadata.decision_threshold:
        if malignant > thresholds.malignant_high:
            risk: RiskLevel = "high"
        elif malignant > thresholds.malignant_medium_high:
            risk = "medium-high"
        else:
            risk = "medium"
        return Assessment("Malignant", malignant, risk)
    if benign > thresholds.benign_low:
        risk = "low"
    elif benign > thresholds.benign_low_medium:
        risk = "low-medium"
    else:
        risk = "medium"
    return Assessment("Benign", benign, risk)
