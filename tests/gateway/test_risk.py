"""Class, confidence and risk level from probabilities: the original rules, and a model's own thresholds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from skinguard_contracts.errors import Invalid
from skinguard_contracts.model_files import ModelMetadata
from skinguard_gateway.predictions.risk import assess
from skinguard_gateway.serving.version_metadata import DEFAULT_METADATA
from skinguard_gateway.usability import UsabilityThresholds, check_usability
from skinguard_imaging import QualityMetrics


@pytest.mark.parametrize(
    ("malignant", "expected"),
    [
        (0.02, ("Benign", 0.98, "low")),
        (0.0999, ("Benign", 0.9001, "low")),
        (0.1, ("Benign", 0.9, "low-medium")),  # > 0.9 is low; exactly 0.9 is not
        (0.25, ("Benign", 0.75, "low-medium")),
        (0.3, ("Benign", 0.7, "medium")),
        (0.45, ("Benign", 0.55, "medium")),
        (0.5, ("Malignant", 0.5, "medium")),  # the decision threshold (0.5 by default) says malignant
        (0.6, ("Malignant", 0.6, "medium")),
        (0.61, ("Malignant", 0.61, "medium-high")),
        (0.8, ("Malignant", 0.8, "medium-high")),
        (0.81, ("Malignant", 0.81, "high")),
        (1.0, ("Malignant", 1.0, "high")),
    ],
)
def test_original_risk_rules(malignant: float, expected: tuple) -> None:
    result = assess((1 - malignant, malignant), DEFAULT_METADATA)
    assert (result.predicted_class, pytest.approx(result.confidence), result.risk_level) == expected


def test_calibrated_thresholds_and_decision_threshold_from_the_model_card() -> None:
    card = ModelMetadata.model_validate_json(
        '{"model_name": "skinguard", "class_names": ["benign", "malignant"], "decision_threshold": 0.3,'
        ' "risk_thresholds": {"benign_low": 0.95, "benign_low_medium": 0.8,'
        ' "malignant_high": 0.6, "malignant_medium_high": 0.4}, "metrics": {"accuracy": 0.9}}'
    )
    assert assess((0.65, 0.35), card).predicted_class == "Malignant"  # 0.35 >= 0.3
    assert assess((0.65, 0.35), card).risk_level == "medium"
    assert assess((0.55, 0.45), card).risk_level == "medium-high"  # > 0.4
    assert assess((0.35, 0.65), card).risk_level == "high"  # > 0.6; the original rules say medium-high
    assert assess((0.96, 0.04), card).risk_level == "low"
    assert assess((0.92, 0.08), card).risk_level == "low-medium"  # the original rules say low
    assert assess((0.75, 0.25), card).risk_level == "medium"


def test_training_metadata_without_risk_thresholds_keeps_the_original_rules() -> None:
    card = ModelMetadata.model_validate_json('{"decision_threshold": 0.5, "input_size": 224}')
    assert card == DEFAULT_METADATA


@pytest.mark.parametrize(
    "thresholds",
    [
        {"benign_low": 0.7, "benign_low_medium": 0.9, "malignant_high": 0.8, "malignant_medium_high": 0.6},
        {"benign_low": 0.9, "benign_low_medium": 0.7, "malignant_high": 1.2, "malignant_medium_high": 0.6},
        {"benign_low": 0.9, "benign_low_medium": 0.7, "malignant_high": 0.8},
        {"benign_low": 0.9, "benign_low_medium": 0.7, "malignant_high": 0.8, "malignant_medium_high": 0.6, "x": 1},
    ],
)
def test_invalid_risk_thresholds_are_refused(thresholds: dict) -> None:
    with pytest.raises(ValidationError):
        ModelMetadata.model_validate({"risk_thresholds": thresholds})


def quality(blur: float = 100.0, brightness: float = 120.0, skin: float = 0.9) -> QualityMetrics:
    return QualityMetrics(
        width=300,
        height=300,
        file_size=1000,
        blur_score=blur,
        brightness_score=brightness,
        contrast_score=30,
        skin_score=skin,
    )


@pytest.mark.parametrize(
    ("metrics", "code", "advice"),
    [
        (quality(blur=0.5), "image_too_blurry", "steady"),
        (quality(brightness=10), "image_too_dark", "well-lit"),
        (quality(brightness=250), "image_overexposed", "without the flash"),
        (quality(skin=0.0), "not_skin", "filling most of the picture with skin"),
    ],
)
def test_unusable_photos_are_refused_with_advice(metrics: QualityMetrics, code: str, advice: str) -> None:
    thresholds = UsabilityThresholds(min_blur_score=1.0, min_brightness=25, max_brightness=240, refuse_non_skin=True)
    with pytest.raises(Invalid) as raised:
        check_usability(metrics, thresholds)
    assert (raised.value.status_code, raised.value.code) == (422, code)
    assert advice in raised.value.message


def test_zero_thresholds_turn_the_checks_off() -> None:
    check_usability(quality(blur=0.0, brightness=255, skin=0.0), UsabilityThresholds())
    check_usability(quality(blur=0.0, brightness=0), UsabilityThresholds(max_brightness=240))
