"""What model-sync keeps and how it labels, from versions.json alone."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from skinguard_contracts.versions import VersionsIndex
from skinguard_model_sync.plan import SyncPlan, plan_sync


def manifest(*versions: tuple[int, str, list[str]]) -> VersionsIndex:
    return VersionsIndex.model_validate(
        {"model": "m", "versions": [{"version": v, "status": s, "labels": labels} for v, s, labels in versions]}
    )


def test_keeps_the_newest_promoted_versions_and_labels_the_newest_stable():
    plan = plan_sync(manifest((1, "promoted", []), (2, "promoted", []), (3, "promoted", []), (4, "candidate", [])), 2)

    assert plan == SyncPlan(keep=frozenset({2, 3}), labels={"stable": 3})


def test_labelled_versions_are_kept_and_an_explicit_stable_wins():
    plan = plan_sync(
        manifest((1, "promoted", ["stable"]), (2, "promoted", []), (3, "promoted", []), (4, "candidate", ["canary"])), 1
    )

    assert plan == SyncPlan(keep=frozenset({1, 3, 4}), labels={"stable": 1, "canary": 4})


def test_archived_and_rejected_versions_leave_even_when_labelled():
    plan = plan_sync(manifest((1, "promoted", []), (2, "archived", ["stable"]), (3, "rejected", ["canary"])), 3)

    assert plan == SyncPlan(keep=frozenset({1}), labels={"stable": 1})


def test_nothing_promoted_means_nothing_to_keep():
    assert plan_sync(manifest((1, "candidate", []), (2, "rejected", [])), 2) == SyncPlan(frozenset(), {})


@pytest.mark.parametrize(
    "versions",
    [
        [(1, "promoted", []), (1, "archived", [])],
        [(1, "promoted", ["stable"]), (2, "promoted", ["stable"])],
        [(1, "deployed", [])],
    ],
    ids=["repeated-version", "label-twice", "unknown-status"],
)
def test_manifests_breaking_the_contract_are_refused(versions):
    with pytest.raises(ValidationError):
        manifest(*versions)
