"""Metrics, operating point, calibration error, intervals and risk bands against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from skinguard_contracts.training_config import TrainingConfig
from skinguard_training.pipeline import choose_operating_point
from skinguard_training.quality import (
    bootstrap_auc_interval,
    expected_calibration_error,
    operating_point,
    proportion_interval,
    reliability,
    risk_band_rates,
    risk_thresholds,
    roc_auc,
    threshold_metrics,
)

LABELS = np.array([0, 0, 0, 0, 1, 1, 1])
PROBABILITIES = np.array([0.1, 0.4, 0.6, 0.2, 0.9, 0.55, 0.3])


def test_metrics_at_the_threshold() -> None:
    metrics = threshold_metrics(LABELS, PROBABILITIES, threshold=0.5)
    # benign: 3 right, 1 called malignant (0.6); malignant: 2 found, 1 missed (0.3).
    assert metrics["confusion_matrix"] == [[3, 1], [1, 2]]
    assert metrics["accuracy"] == pytest.approx(5 / 7)
    assert metrics["precision"] == pytest.approx(2 / 3)
    assert metrics["recall"] == metrics["sensitivity"] == pytest.approx(2 / 3)
    assert metrics["specificity"] == pytest.approx(3 / 4)
    report = metrics["classification_report"]
    assert report["malignant"]["f1-score"] == pytest.approx(2 / 3)
    assert report["benign"]["f1-score"] == pytest.approx(0.75)


def test_roc_auc_counts_ordered_pairs_and_half_ties() -> None:
    # Of the 12 malignant-benign pairs 9 are ordered right: 0.55 is below 0.6, 0.3 below 0.4 and 0.6.
    assert roc_auc(LABELS, PROBABILITIES) == pytest.approx(9 / 12)
    assert roc_auc(np.array([0, 0, 1]), np.array([0.2, 0.7, 0.7])) == pytest.approx(0.75)
    assert roc_auc(np.array([0, 0]), np.array([0.2, 0.7])) is None


def test_wilson_interval_of_a_sensitivity_by_hand() -> None:
    # 16 of 39 found, z = 1.959964: centre (p + z^2/2n) / (1 + z^2/n) = 0.41831,
    # half-width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n) = 0.14751.
    low, high = proportion_interval(16, 39)
    assert (low, high) == (pytest.approx(0.27080, abs=1e-4), pytest.approx(0.56582, abs=1e-4))
    assert proportion_interval(0, 10)[0] == 0.0 and proportion_interval(10, 10)[1] == pytest.approx(1.0)
    assert proportion_interval(0, 0) is None
    metrics = threshold_metrics(LABELS, PROBABILITIES, threshold=0.5)  # 2 of 3 found, 3 of 4 benign right
    assert metrics["sensitivity_ci95"] == pytest.approx(proportion_interval(2, 3))
    assert metrics["specificity_ci95"] == pytest.approx(proportion_interval(3, 4))
    assert metrics["sensitivity_ci95"][0] < metrics["sensitivity"] < metrics["sensitivity_ci95"][1]


def test_one_class_only_has_no_division_by_zero() -> None:
    metrics = threshold_metrics(np.array([0, 0, 0]), np.array([0.1, 0.2, 0.3]), 0.5)
    assert (metrics["precision"], metrics["recall"], metrics["specificity"]) == (0.0, 0.0, 1.0)


def test_the_operating_point_is_the_highest_threshold_reaching_the_target() -> None:
    # Malignant scores 0.9, 0.55, 0.3: 2/3 sensitivity down to 0.55, all three only from 0.3,
    # where the benign 0.4 and 0.6 are called malignant too (specificity 2/4).
    point = operating_point(LABELS, PROBABILITIES, target_sensitivity=0.95)
    assert (point.threshold, point.sensitivity, point.specificity) == pytest.approx((0.3 - 1e-5, 1.0, 0.5))
    point = operating_point(LABELS, PROBABILITIES, target_sensitivity=0.6)
    assert (point.threshold, point.sensitivity, point.specificity) == pytest.approx((0.55 - 1e-5, 2 / 3, 0.75))
    at = threshold_metrics(LABELS, PROBABILITIES, point.threshold)
    assert (at["sensitivity"], at["specificity"]) == pytest.approx((point.sensitivity, point.specificity))


def test_a_plateau_at_the_threshold_keeps_its_decision_in_float32() -> None:
    # Isotonic calibration: many photos share one calibrated value, the one the threshold is
    # chosen at. Rounded to float32 (as every runtime returns it) they must still reach it.
    plateau = 0.07611
    labels = np.array([1, 1, 1, 0, 0, 0])
    scores = np.array([0.9, plateau, plateau, plateau, 0.01, 0.02])
    point = operating_point(labels, scores, target_sensitivity=0.95)
    # As the gateway compares: TF Serving's float32, read as a Python float; another runtime
    # may also sum the calibration's ramps in another order (a difference of about 1e-7).
    served = scores.astype(np.float32).astype(np.float64) - 1e-7
    assert float(np.float32(plateau)) < plateau  # the rounding that flipped the plateau before
    at = threshold_metrics(labels, served, point.threshold)
    assert (at["sensitivity"], at["specificity"]) == pytest.approx((point.sensitivity, point.specificity))


def _melanomas_scored_below_carcinomas() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # 20 carcinomas (bcc) at 0.9, 5 akiec at 0.95, 20 melanomas at 0.40, 0.39, ... 0.21; benign
    # photos at 0.1, 0.215, 0.225 and 0.5.
    melanoma = np.round(np.arange(40, 20, -1) / 100, 2)
    probabilities = np.concatenate([np.full(20, 0.9), np.full(5, 0.95), melanoma, [0.1, 0.215, 0.225, 0.5]])
    labels = np.array([1] * 45 + [0] * 4)
    diagnoses = np.array(["bcc"] * 20 + ["akiec"] * 5 + ["mel"] * 20 + ["nv", None, "bkl", "nv"], dtype=object)
    return labels, probabilities, diagnoses


def test_the_target_can_hold_for_each_malignant_diagnosis() -> None:
    labels, probabilities, diagnoses = _melanomas_scored_below_carcinomas()
    # All 45 malignant together: 43 (0.95 of 45, rounded up) are at or above the 43rd highest,
    # the 18th melanoma, 0.23 — where 2 of the 20 melanomas are missed (0.90).
    pooled = operating_point(labels, probabilities, 0.95)
    assert (pooled.threshold, pooled.sensitivity, pooled.specificity) == pytest.approx((0.23 - 1e-5, 43 / 45, 3 / 4))
    assert pooled.sensitivity_by_diagnosis is None
    # Per diagnosis: melanoma needs its 19th highest, 0.22; bcc 0.9; akiec has too few photos
    # (5 < 20) to count on its own.
    point = operating_point(labels, probabilities, 0.95, diagnoses)
    assert (point.threshold, point.sensitivity, point.specificity) == pytest.approx((0.22 - 1e-5, 44 / 45, 2 / 4))
    assert point.sensitivity_by_diagnosis == pytest.approx({"bcc": 1.0, "mel": 0.95})


def test_the_pipeline_holds_the_target_per_diagnosis_by_default() -> None:
    labels, probabilities, diagnoses = _melanomas_scored_below_carcinomas()
    pooled = choose_operating_point(TrainingConfig(sensitivity_per_diagnosis=False), labels, probabilities, diagnoses)
    per_diagnosis = choose_operating_point(TrainingConfig(), labels, probabilities, diagnoses)  # the default
    assert (pooled.threshold, per_diagnosis.threshold) == pytest.approx((0.23 - 1e-5, 0.22 - 1e-5))
    fixed = choose_operating_point(TrainingConfig(decision_threshold=0.5), labels, probabilities, diagnoses)
    assert fixed.threshold == 0.5 and fixed.target_sensitivity is None


def test_an_operating_point_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both classes"):
        operating_point(np.array([1, 1]), np.array([0.2, 0.3]), 0.9)


def test_expected_calibration_error_by_hand() -> None:
    # Bins of width 0.5: [0.2, 0.3] -> mean 0.25, 1 of 2 malignant (gap 0.25);
    # [0.8, 0.9] -> mean 0.85, 2 of 2 malignant (gap 0.15). ECE = (2 * 0.25 + 2 * 0.15) / 4.
    labels, probabilities = np.array([0, 1, 1, 1]), np.array([0.2, 0.3, 0.8, 0.9])
    assert expected_calibration_error(labels, probabilities, bins=2) == pytest.approx(0.2)
    bins = reliability(labels, probabilities, bins=2)["bins"]
    flat = [value for b in bins for value in (b["count"], b["mean_probability"], b["malignant_rate"])]
    assert flat == pytest.approx([2, 0.25, 0.5, 2, 0.85, 1.0])
    assert expected_calibration_error(np.array([0, 1]), np.array([0.0, 1.0])) == 0.0


def test_bootstrap_interval_brackets_the_auc_and_narrows_with_more_photos() -> None:
    rng = np.random.default_rng(1)

    def sample(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.r_[np.zeros(count), np.ones(count)].astype(int)
        return labels, rng.normal(labels * 1.0, 1.0)

    small, large = sample(40), sample(800)
    low, high = bootstrap_auc_interval(*small)
    assert low < roc_auc(*small) < high
    large_low, large_high = bootstrap_auc_interval(*large)
    assert large_low < roc_auc(*large) < large_high
    assert large_high - large_low < (high - low) / 3
    assert bootstrap_auc_interval(*small, seed=3) == bootstrap_auc_interval(*small, seed=3)
    assert bootstrap_auc_interval(np.array([0, 0]), np.array([0.1, 0.2])) is None


def test_risk_thresholds_make_low_risk_a_measured_low_malignancy_rate() -> None:
    # 100 photos scored 0.00 .. 0.99; malignant where the score is >= 0.5, plus those at 0.1 and 0.3.
    probabilities = np.arange(100) / 100
    labels = (probabilities >= 0.5).astype(int)
    labels[[10, 30]] = 1
    thresholds = risk_thresholds(labels, probabilities, decision_threshold=0.5)
    bands = risk_band_rates(labels, probabilities, thresholds, decision_threshold=0.5)
    # Told "low": the widest band from 0 with at most 2% malignant. Up to 0.09 none is; with 0.10,
    # 1 in 11 (9%) and never back under 2% below the threshold: the cut falls between 0.09 and 0.10.
    assert 1 - thresholds["benign_low"] == pytest.approx(0.095)
    assert (bands["low"]["count"], bands["low"]["malignant_rate"]) == (10, 0.0)
    # Up to "low-medium": at most 5%; 2 in 50 (4%) by 0.49, the last photo below the threshold.
    assert 1 - thresholds["benign_low_medium"] == pytest.approx(0.495)
    assert (bands["low-medium"]["count"], bands["low-medium"]["malignant_rate"]) == (40, 0.05)
    assert bands["high"]["malignant_rate"] == 1.0
    assert thresholds["benign_low"] > thresholds["benign_low_medium"]
    assert thresholds["malignant_high"] > thresholds["malignant_medium_high"]
    assert sum(band["count"] for band in bands.values()) == 100


def test_saturated_scores_still_give_thresholds_inside_the_unit_interval() -> None:
    labels = np.array([0, 0, 1, 1])
    probabilities = np.array([0.0, 0.0, 1.0, 1.0])
    point = operating_point(labels, probabilities, 0.95)
    assert 0 < point.threshold < 1 and point.sensitivity == 1.0
    thresholds = risk_thresholds(labels, probabilities, point.threshold)
    assert all(0 < value < 1 for value in thresholds.values())
    assert thresholds["benign_low"] > thresholds["benign_low_medium"]
    assert thresholds["malignant_high"] > thresholds["malignant_medium_high"]
    from skinguard_contracts.model_files import RiskThresholds

    RiskThresholds(**thresholds)  # what the gateway will read
