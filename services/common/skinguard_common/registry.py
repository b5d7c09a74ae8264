"""Training jobs and the model registry: records shared by the annotation API and the worker.

The tables are created by the annotation service's migrations (with their foreign keys);
this module holds their mapping and the rules every writer follows — job states, the quality gate, promotion and
rollback, and the ``models/<name>/versions.json`` index that model-sync reads from S3.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Enum, Float, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base

TRAIN_TASK = "skinguard.train"  # Celery task name; its only argument is the job id (a string)
EVALUATE_TASK = "skinguard.evaluate"  # its only argument is the evaluation id (a string)
TRAINING_QUEUE = "training"


def cancel_key(job_id: uuid.UUID | str) -> str:
    """Redis key the API sets to ask a running job to stop (checked by the worker every batch)."""
    return f"skinguard:training-job:{job_id}:cancel"


class JobState(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.succeeded, JobState.failed, JobState.cancelled)


class ModelStatus(enum.StrEnum):
    candidate = "candidate"
    promoted = "promoted"
    rejected = "rejected"
    archived = "archived"


class TrainingJob(Base):
    __tablename__ = "training_jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    dataset_id: Mapped[uuid.UUID] = mapped_column(index=True)
    model_name: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSONB)
    state: Mapped[JobState] = mapped_column(Enum(JobState, name="job_state"), default=JobState.queued)
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    model_version: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ModelVersion(Base):
    __tablename__ = "model_versions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    model_name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[ModelStatus] = mapped_column(Enum(ModelStatus, name="model_status"))
    job_id: Mapped[uuid.UUID | None]
    dataset_id: Mapped[uuid.UUID]
    artifact_url: Mapped[str] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB)
    gate: Mapped[dict[str, Any]] = mapped_column(JSONB)
    test_auc: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EvaluationPurpose(enum.StrEnum):
    request = "request"  # asked for through the API
    gate = "gate"  # run by the worker before the gate decides (SKINGUARD_GATE_EXTERNAL_DATASET)


class ModelEvaluation(Base):
    """One evaluation of a model version on a dataset version: a queued job and, once done, its result."""

    __tablename__ = "model_evaluations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    model_name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    dataset_id: Mapped[uuid.UUID]
    split: Mapped[str | None] = mapped_column(String(10))  # None: every image of the dataset
    state: Mapped[JobState] = mapped_column(Enum(JobState, name="job_state", create_type=False))
    purpose: Mapped[str] = mapped_column(String(16), default=EvaluationPurpose.request.value)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    artifact_url: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def model_prefix(model_name: str, version: int) -> str:
    return f"models/{model_name}/{version}/"


def versions_index_key(model_name: str) -> str:
    return f"models/{model_name}/versions.json"


def model_card_key(model_name: str, version: int) -> str:
    return f"{model_prefix(model_name, version)}model_card.json"


def evaluation_prefix(model_name: str, version: int, evaluation_id: uuid.UUID | str) -> str:
    """Reports of evaluations live beside, not inside, the version folder model-sync copies."""
    return f"evaluations/{model_name}/{version}/{evaluation_id}/"


@dataclass(frozen=True)
class GatePolicy:
    """What a candidate must reach on its test split (and, when configured, an external dataset)."""

    min_auc: float = 0.75  # test ROC AUC floor
    margin: float = 0.02  # how much worse than the promoted version's test AUC a candidate may be
    sensitivity_tolerance: float = 0.05  # test sensitivity may fall this far below the target
    max_ece: float = 0.1  # test expected calibration error ceiling
    external_dataset: str | None = None  # a dataset version id every candidate is evaluated on
    external_min_auc: float = 0.7
    external_min_sensitivity: float = 0.8

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateEvidence:
    """A candidate's measurements: test split, its target sensitivity, and the external result if any."""

    test_auc: float | None
    test_sensitivity: float | None
    test_ece: float | None
    target_sensitivity: float | None  # None: the threshold was fixed by hand, no target to meet
    external_auc: float | None = None
    external_sensitivity: float | None = None


@dataclass(frozen=True)
class GateCheck:
    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    checks: tuple[GateCheck, ...] = ()

    def as_dict(self, policy: GatePolicy, baseline: float | None) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "reason": self.reason,
            "checks": [asdict(check) for check in self.checks],
            "policy": policy.as_dict(),
            "baseline": baseline,
        }


def decide(evidence: GateEvidence, promoted_auc: float | None, policy: GatePolicy) -> GateDecision:
    """Promote only when every check passes: test AUC (floor, and not worse than the promoted
    version by more than the margin), test sensitivity at the operating point against its target,
    test ECE, and the external dataset's AUC and sensitivity when one is configured.
    The reason names every check, passed or failed."""
    checks = [_auc_check(evidence.test_auc, promoted_auc, policy)]
    checks.append(_sensitivity_check(evidence, policy))
    if evidence.test_ece is None:
        checks.append(GateCheck("ece", False, "no test ECE"))
    else:
        passed = evidence.test_ece <= policy.max_ece
        relation = "within" if passed else "above"
        checks.append(GateCheck("ece", passed, f"test ECE {evidence.test_ece:.4f} is {relation} {policy.max_ece:.4f}"))
    if policy.external_dataset is not None:
        checks.extend(_external_checks(evidence, policy))
    failed = [check for check in checks if not check.passed]
    reason = "; ".join(check.reason for check in failed or checks)
    return GateDecision(not failed, ("rejected: " if failed else "promoted: ") + reason, tuple(checks))


def _auc_check(auc: float | None, promoted_auc: float | None, policy: GatePolicy) -> GateCheck:
    if auc is None:
        return GateCheck("auc", False, "no test ROC AUC (the test split lacks one of the classes)")
    if auc < policy.min_auc:
        return GateCheck("auc", False, f"test AUC {auc:.4f} is below the floor {policy.min_auc:.4f}")
    if promoted_auc is not None and auc < promoted_auc - policy.margin:
        return GateCheck(
            "auc",
            False,
            f"test AUC {auc:.4f} is worse than the promoted model's {promoted_auc:.4f} "
            f"by more than {policy.margin:.4f}",
        )
    baseline = "" if promoted_auc is None else f" (promoted model: {promoted_auc:.4f})"
    return GateCheck("auc", True, f"test AUC {auc:.4f} passes the floor {policy.min_auc:.4f}{baseline}")


def _sensitivity_check(evidence: GateEvidence, policy: GatePolicy) -> GateCheck:
    if evidence.test_sensitivity is None:
        return GateCheck("sensitivity", False, "no test sensitivity")
    if evidence.target_sensitivity is None:
        return GateCheck(
            "sensitivity",
            True,
            f"test sensitivity {evidence.test_sensitivity:.4f} (threshold fixed by hand, no target)",
        )
    floor = evidence.target_sensitivity - policy.sensitivity_tolerance
    passed = evidence.test_sensitivity >= floor - 1e-12
    relation = "reaches" if passed else "is below"
    return GateCheck(
        "sensitivity",
        passed,
        f"test sensitivity {evidence.test_sensitivity:.4f} at the operating point {relation} {floor:.4f} "
        f"(target {evidence.target_sensitivity:.4f} - tolerance {policy.sensitivity_tolerance:.4f})",
    )


def _external_checks(evidence: GateEvidence, policy: GatePolicy) -> list[GateCheck]:
    where = f"external dataset {policy.external_dataset}"
    checks = []
    for name, value, floor in (
        ("external_auc", evidence.external_auc, policy.external_min_auc),
        ("external_sensitivity", evidence.external_sensitivity, policy.external_min_sensitivity),
    ):
        label = name.removeprefix("external_").replace("auc", "AUC")
        if value is None:
            checks.append(GateCheck(name, False, f"no {label} on the {where}"))
            continue
        passed = value >= floor
        relation = "reaches" if passed else "is below"
        checks.append(GateCheck(name, passed, f"{label} {value:.4f} on the {where} {relation} {floor:.4f}"))
    return checks


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


def versions_index(model_name: str, versions: Sequence[ModelVersion]) -> dict[str, Any]:
    """What model-sync reads: every version's status; the promoted one is labelled ``stable``."""
    return {
        "model": model_name,
        "versions": [
            {
                "version": v.version,
                "status": v.status.value,
                "labels": ["stable"] if v.status is ModelStatus.promoted else [],
            }
            for v in sorted(versions, key=lambda v: v.version)
        ],
    }
