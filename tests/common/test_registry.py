"""The quality gate, promotion and rollback rules (no servers)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from skinguard_common.registry import ModelStatus, ModelVersion, decide, promote, rollback, versions_index


@pytest.mark.parametrize(
    ("candidate", "promoted", "expected", "fragment"),
    [
        (0.91, None, True, "passes the floor"),
        (0.70, None, False, "below the floor"),
        (0.86, 0.90, False, "worse than the promoted"),
        (0.885, 0.90, True, "promoted model: 0.9000"),  # within the 0.02 margin
        (0.95, 0.90, True, "passes"),
        (None, 0.90, False, "no test ROC AUC"),
    ],
)
def test_gate_decisions(candidate, promoted, expected, fragment):
    decision = decide(candidate, promoted, floor=0.75, margin=0.02)
    assert decision.promote is expected
    assert fragment in decision.reason


def version(number: int, status: ModelStatus, promoted_minutes_ago: int | None = None) -> ModelVersion:
    promoted_at = None if promoted_minutes_ago is None else datetime.now(UTC) - timedelta(minutes=promoted_minutes_ago)
    return ModelVersion(
        model_name="m",
        version=number,
        status=status,
        dataset_id=uuid.uuid4(),
        artifact_url="",
        metrics={},
        gate={},
        promoted_at=promoted_at,
    )


def test_promotion_archives_the_previous_version():
    old, new = version(1, ModelStatus.promoted, 60), version(2, ModelStatus.candidate)
    promote(new, [old, new])
    assert (old.status, new.status) == (ModelStatus.archived, ModelStatus.promoted)
    assert new.promoted_at is not None


def test_rollback_returns_to_the_version_promoted_before():
    first = version(1, ModelStatus.archived, 120)
    second = version(2, ModelStatus.archived, 60)
    never = version(3, ModelStatus.rejected)
    current = version(4, ModelStatus.promoted, 5)
    restored = rollback(current, [first, second, never, current])
    assert restored is second
    assert (current.status, second.status, first.status) == (
        ModelStatus.rejected,
        ModelStatus.promoted,
        ModelStatus.archived,
    )


def test_rollback_without_an_earlier_promotion_leaves_nothing_promoted():
    only = version(1, ModelStatus.promoted, 5)
    assert rollback(only, [only]) is None
    assert only.status is ModelStatus.rejected


def test_versions_index_labels_the_promoted_version_stable():
    index = versions_index("m", [version(2, ModelStatus.promoted, 1), version(1, ModelStatus.archived, 9)])
    assert index == {
        "model": "m",
        "versions": [
            {"version": 1, "status": "archived", "labels": []},
            {"version": 2, "status": "promoted", "labels": ["stable"]},
        ],
    }
