"""Monitoring figures against hand-computed values (the SQL around them: test_feedback_and_monitoring.py)."""

from __future__ import annotations

import pytest

from skinguard_gateway.monitoring.maths import BinCounts, performance, tally_by_version


def test_performance_against_hand_computed_values() -> None:
    # 3 malignant lesions (2 found), 5 benign ones (1 wrongly called malignant).
    counts = {
        ("malignant", "malignant"): 2,
        ("malignant", "benign"): 1,
        ("benign", "malignant"): 1,
        ("benign", "benign"): 4,
    }
    result = performance(counts)
    assert result.feedback_count == 8
    assert result.accuracy == pytest.approx(6 / 8)
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(2 / 3)
    assert result.confusion_matrix == {
        "benign": {"benign": 4, "malignant": 1},
        "malignant": {"benign": 1, "malignant": 2},
    }


def test_undefined_ratios_are_none_not_zero() -> None:
    only_benign = performance({("benign", "benign"): 3})
    assert (only_benign.accuracy, only_benign.precision, only_benign.recall) == (1.0, None, None)
    nothing = performance({})
    assert (nothing.feedback_count, nothing.accuracy) == (0, None)


def test_prediction_stats_by_version_and_overall() -> None:
    rows = [
        BinCounts("skinguard", 1, bin=6, count=2, confidence_sum=1.1, malignant=0),  # 0.5-0.6
        BinCounts("skinguard", 1, bin=10, count=1, confidence_sum=0.95, malignant=1),
        BinCounts("skinguard", 2, bin=10, count=1, confidence_sum=1.0, malignant=1),
    ]
    overall, by_version = tally_by_version(rows)
    stats = overall.stats()
    assert stats.count == 4
    assert stats.average_confidence == pytest.approx((1.1 + 0.95 + 1.0) / 4)
    assert stats.malignant_rate == pytest.approx(2 / 4)
    histogram = [(b.lower, b.upper, b.count) for b in stats.confidence_histogram]
    assert histogram[5] == (0.5, 0.6, 2) and histogram[9] == (0.9, 1.0, 2)
    assert sum(count for *_, count in histogram) == 4 and len(histogram) == 10
    assert list(by_version) == [("skinguard", 1), ("skinguard", 2)]
    assert by_version["skinguard", 1].stats().malignant_rate == pytest.approx(1 / 3)
    assert by_version["skinguard", 2].stats().average_confidence == pytest.approx(1.0)
    empty = tally_by_version([])[0].stats()
    assert (empty.count, empty.average_confidence, empty.malignant_rate) == (0, None, None)
