"""Temperature scaling and isotonic calibration against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skinguard_training.calibration import (
    ISOTONIC_FLOOR,
    Calibrator,
    cross_validated_ece,
    fit_calibration,
    fit_isotonic,
    fit_temperature,
    logit,
)
from skinguard_training.quality import roc_auc


def _sigmoid(x):
    return 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


def test_temperature_by_hand() -> None:
    # Logit +2 for 4 photos of which 3 are malignant, logit -2 for 4 of which 1 is: the likelihood
    # is best where sigmoid(2 / T) = 3/4, i.e. T = 2 / ln 3.
    probabilities = _sigmoid([2, 2, 2, 2, -2, -2, -2, -2])
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    calibrator = fit_temperature(labels, probabilities)
    assert calibrator.method == "temperature"
    assert calibrator.temperature == pytest.approx(2 / math.log(3), rel=1e-3)
    assert calibrator.apply(probabilities[:1]) == pytest.approx([0.75], rel=1e-3)


def test_a_temperature_keeps_the_order_and_half() -> None:
    calibrator = Calibrator("temperature", temperature=3.0)
    probabilities = np.array([0.01, 0.2, 0.5, 0.7, 0.999])
    calibrated = calibrator.apply(probabilities)
    assert np.all(np.diff(calibrated) > 0)
    assert calibrated[2] == pytest.approx(0.5)
    assert calibrated == pytest.approx(_sigmoid(logit(probabilities) / 3))


def test_isotonic_pools_adjacent_violators_with_a_knot_at_each_blocks_centre() -> None:
    # 0.1 benign, 0.2 malignant, 0.3 benign, 0.4 malignant: 0.2 and 0.3 violate the order and pool
    # to 1/2 at their centre 0.25; the all-benign and all-malignant ends are held at the floor and
    # the ceiling. Between the knots the map rises linearly: no photo shares a plateau.
    low, high = ISOTONIC_FLOOR, 1 - ISOTONIC_FLOOR
    calibrator = fit_isotonic(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.3, 0.4]))
    assert np.array(calibrator.knots) == pytest.approx(np.array([[0.1, low], [0.25, 0.5], [0.4, high]]))
    expected = [low, low + (0.5 - low) * 2 / 3, 0.5, 0.5 + (high - 0.5) / 3, high]
    assert calibrator.apply(np.array([0.1, 0.2, 0.25, 0.3, 0.4])) == pytest.approx(expected)
    assert calibrator.apply(np.array([0.0, 0.95])) == pytest.approx([low, high])  # clipped outside the knots


def test_isotonic_keeps_the_ranking_between_its_ends() -> None:
    rng = np.random.default_rng(2)
    raw = rng.uniform(0, 1, 3000)
    labels = (rng.uniform(0, 1, 3000) < raw**2).astype(int)
    calibrator = fit_isotonic(labels, raw)
    inside = np.sort(raw[(raw > calibrator.knots[0][0]) & (raw < calibrator.knots[-1][0])])
    assert np.all(np.diff(calibrator.apply(inside)) > 0)
    assert roc_auc(labels, calibrator.apply(raw)) == pytest.approx(roc_auc(labels, raw), abs=1e-3)


def test_isotonic_never_says_zero_or_one() -> None:
    # 600 benign photos below every malignant one: the fitted rate there is 0, but 600 photos
    # cannot show a rate of exactly 0; a melanoma scored there must not be told "0%".
    rng = np.random.default_rng(1)
    raw = np.concatenate([rng.uniform(0.0, 0.3, 600), rng.uniform(0.6, 1.0, 50)])
    labels = np.concatenate([np.zeros(600, int), np.ones(50, int)])
    calibrated = fit_isotonic(labels, raw).apply(np.linspace(0, 1, 101))
    assert calibrated.min() == pytest.approx(ISOTONIC_FLOOR) and calibrated.max() == pytest.approx(1 - ISOTONIC_FLOOR)


def test_identity_and_json_form() -> None:
    assert Calibrator("none").apply(np.array([0.3])) == pytest.approx([0.3])
    assert Calibrator("temperature", temperature=1.5).as_dict() == {"method": "temperature", "temperature": 1.5}
    knots = fit_isotonic(np.array([0, 1]), np.array([0.2, 0.8])).as_dict()["knots"]
    assert knots == [[0.2, ISOTONIC_FLOOR], [0.8, 1 - ISOTONIC_FLOOR]]


def test_auto_picks_isotonic_only_where_it_measures_better() -> None:
    rng = np.random.default_rng(0)
    raw = rng.uniform(0.01, 0.99, 4000)
    # Over-confident scores: the truth is the score at temperature 2, which one parameter fixes.
    tempered = rng.uniform(size=raw.size) < _sigmoid(logit(raw) / 2)
    assert fit_calibration("auto", tempered.astype(int), raw).method == "temperature"
    # A staircase no temperature can fit: malignant 10% below 0.5, 90% above.
    stepped = rng.uniform(size=raw.size) < np.where(raw < 0.5, 0.1, 0.9)
    assert cross_validated_ece("isotonic", stepped.astype(int), raw) < cross_validated_ece(
        "temperature", stepped.astype(int), raw
    )
    assert fit_calibration("auto", stepped.astype(int), raw).method == "isotonic"
    assert fit_calibration("none", stepped.astype(int), raw).method == "none"
