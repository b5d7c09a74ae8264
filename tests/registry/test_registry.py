"""The quality gate, promotion and rollback rules (no servers)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from skinguard_registry.gate import GateEvidence, GatePolicy, decide
from skinguard_registry.promotion import promote, rollback, versions_index
from skinguard_registry.records import ModelStatus, ModelVersion

POLICY = GatePolicy(min_auc=0.75, margin=0.02, sensitivity_tolerance=0.05, max_ece=0.1)


def evidence(auc=0.91, sensitivity=0.93, ece=0.04, target=0.95, **external) -> GateEvidence:
    return GateEvidence(auc, sensitivity, ece, target, **external)


@pytest.mark.parametrize(
    ("candidate", "promoted", "expected", "fragment"),
    [
        (evidence(), None, True, "test AUC 0.9100 passes the floor"),
        (evidence(auc=0.70), None, False, "below the floor"),
        (evidence(auc=0.86), 0.90, False, "worse than the promoted"),
        (evidence(auc=0.885), 0.90, True, "promoted model: 0.9000"),  # within the 0.02 margin
        (evidence(auc=None), 0.90, False, "no test ROC AUC"),
        (evidence(sensitivity=0.89), None, False, "test sensitivity 0.8900 at the operating point is below 0.9000"),
        (evidence(sensitivity=0.90), None, True, "reaches 0.9000"),
        (evidence(target=None, sensitivity=0.5), None, True, "threshold fixed by hand"),
        (evidence(sensitivity=None), None, False, "no test sensitivity"),
        (evidence(ece=0.12), None, False, "test ECE 0.1200 is above 0.1000"),
        (evidence(ece=None), None, False, "no test ECE"),
    ],
)
def test_gate_decisions(candidate, promoted, expected, fragment):
    decision = decide(candidate, promoted, POLICY)
    assert decision.promote is expected
    assert fragment in decision.reason
    assert decision.reason.startswith("promoted: " if expected else "rejected: ")
    assert [check.name for check in decision.checks] == ["auc", "sensitivity", "ece"]


def test_a_promotion_names_every_check_and_a_rejection_every_failure():
    promoted = decide(evidence(), None, POLICY)
    assert all(word in promoted.reason for word in ("AUC", "sensitivity", "ECE"))
    rejected = decide(evidence(auc=0.6, ece=0.3), None, POLICY)
    assert "below the floor" in rejected.reason and "ECE 0.3000" in rejected.reason
    assert "sensitivity" not in rejected.reason  # it passed
    recorded = rejected.as_dict(POLICY, None)
    assert recorded["promote"] is False and recorded["policy"]["max_ece"] == 0.1
    assert [check["passed"] for check in recorded["checks"]] == [False, True, False]


def test_an_external_dataset_adds_its_own_floors():
    policy = GatePolicy(external_dataset="d-1", external_min_auc=0.8, external_min_sensitivity=0.85)
    passed = decide(evidence(external_auc=0.84, external_sensitivity=0.9), None, policy)
    assert passed.promote and "AUC 0.8400 on the external dataset d-1 reaches 0.8000" in passed.reason
    low = decide(evidence(external_auc=0.84, external_sensitivity=0.7), None, policy)
    assert not low.promote and "sensitivity 0.7000 on the external dataset d-1 is below 0.8500" in low.reason
    missing = decide(evidence(), None, policy)
    assert not missing.promote and "no AUC on the external dataset d-1" in missing.reason


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
    index = versions_index("m", [version(2, ModelStatus.promoted, 1), version(1, ModelStatus.archived, 9)], 7)
    assert index.model_dump() == {
        "model": "m",
        "generation": 7,
        "versions": [
            {"version": 1, "status": "archived", "labels": []},
            {"version": 2, "status": "promoted", "labels": ["stable"]},
        ],
    }
