"""Promotion and rollback, and the versions index model-sync follows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from skinguard_contracts.versions import IndexedVersion, VersionsIndex

from .records import ModelStatus, ModelVersion


def promote(target: ModelVersion, versions: Sequence[ModelVersion]) -> None:
    """Make ``target`` the promoted version of its model; the previous one is archived."""
    for version in versions:
        if version.status is ModelStatus.promoted and version is not target:
            version.status = ModelStatus.archived
    target.status = ModelStatus.promoted
    target.promoted_at = datetime.now(UTC)


def rollback(target: ModelVersion, versions: Sequence[ModelVersion]) -> ModelVersion | None:
    """Withdraw the promoted ``target``; the version promoted before it returns. Returns that one."""
    cutoff = target.promoted_at
    earlier = [
        (v.promoted_at, v)
        for v in versions
        if v is not target
        and v.status is ModelStatus.archived
        and v.promoted_at is not None
        and cutoff is not None
        and v.promoted_at < cutoff
    ]
    target.status = ModelStatus.rejected
    if not earlier:
        return None
    _, previous = max(earlier, key=lambda pair: pair[0])
    previous.status = ModelStatus.promoted
    previous.promoted_at = datetime.now(UTC)
    return previous


def versions_index(model_name: str, versions: Sequence[ModelVersion]) -> VersionsIndex:
    """What model-sync reads: every version's status; the promoted one is labelled ``stable``."""
    return VersionsIndex(
        model=model_name,
        versions=[
            IndexedVersion(
                version=v.version,
                status=v.status.value,
                labels=["stable"] if v.status is ModelStatus.promoted else [],
            )
            for v in sorted(versions, key=lambda v: v.version)
        ],
    )
