"""Promotion and rollback, and the versions index model-sync follows.

The index is written after the change commits, in a transaction of its own that first bumps
the model's generation (``index_generation_bump``): that row lock makes writers take turns, and
each writes the committed state it then reads, so the last index written is the latest state
and two changes at once cannot leave S3 behind the registry. Model-sync refuses an index whose
generation is older than one it already applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.sql.dml import ReturningInsert

from skinguard_contracts.versions import IndexedVersion, VersionsIndex

from .records import ModelIndexGeneration, ModelStatus, ModelVersion


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


def index_generation_bump(model_name: str) -> ReturningInsert[int]:
    """The statement that takes the model's index lock and returns its next generation."""
    statement = insert(ModelIndexGeneration).values(model_name=model_name, generation=1)
    return statement.on_conflict_do_update(
        index_elements=[ModelIndexGeneration.model_name],
        set_={"generation": ModelIndexGeneration.generation + 1},
    ).returning(ModelIndexGeneration.generation)


def versions_of(model_name: str) -> Select:
    return select(ModelVersion).where(ModelVersion.model_name == model_name)


def versions_index(model_name: str, versions: Sequence[ModelVersion], generation: int) -> VersionsIndex:
    """What model-sync reads: every version's status; the promoted one is labelled ``stable``."""
    return VersionsIndex(
        model=model_name,
        generation=generation,
        versions=[
            IndexedVersion(
                version=v.version,
                status=v.status.value,
                labels=["stable"] if v.status is ModelStatus.promoted else [],
            )
            for v in sorted(versions, key=lambda v: v.version)
        ],
    )
