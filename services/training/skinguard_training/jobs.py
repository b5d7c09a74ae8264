"""A training job's life in the database, and publishing its model version.

The worker uses a synchronous engine (psycopg): training is synchronous code in a child process.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from skinguard_contracts.keys import evaluation_prefix, model_prefix, versions_index_key
from skinguard_registry.gate import GateEvidence, GatePolicy, decide
from skinguard_registry.promotion import index_generation_bump, promote, versions_index, versions_of
from skinguard_registry.records import (
    EvaluationPurpose,
    JobState,
    ModelEvaluation,
    ModelStatus,
    ModelVersion,
    TrainingJob,
)

from .model_card import summary, write_model_card
from .settings import WorkerSettings

PROGRESS_INTERVAL_SECONDS = 1.0


def now() -> datetime:
    return datetime.now(UTC)


class JobRecorder:
    """Reads and writes one job's row; progress writes are throttled and double as heartbeats."""

    def __init__(self, engine: Engine, job_id: uuid.UUID) -> None:
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.job_id = job_id
        self._last_progress = 0.0
        self.cancel_requested = False  # the database's flag, as of the last progress write

    @contextmanager
    def locked(self) -> Iterator[tuple[Session, TrainingJob | None]]:
        with self.sessions() as session, session.begin():
            job = session.scalar(select(TrainingJob).where(TrainingJob.id == self.job_id).with_for_update())
            yield session, job

    def start(self, max_attempts: int) -> tuple[TrainingJob | None, str | None]:
        """Claim the job; returns it, or None with why it must not run (ended, cancelled, lost too often)."""
        with self.locked() as (_, job):
            if job is None:
                return None, "unknown job"
            if job.state.finished:
                return None, f"already {job.state.value}"
            if job.cancel_requested:
                self._finish(job, JobState.cancelled, "cancelled before it started")
                return None, "cancelled"
            if job.state is JobState.running and job.attempts >= max_attempts:
                self._finish(job, JobState.failed, f"the worker was lost {job.attempts} times during training")
                return None, "lost too often"
            job.state = JobState.running
            job.attempts += 1
            job.worker = socket.gethostname()
            job.started_at = job.heartbeat_at = now()
            job.progress = {"phase": "loading data", "attempt": job.attempts}
            job.error = None
            return job, None

    def progress(self, update: dict[str, Any], *, force: bool = False) -> None:
        if not force and time.monotonic() - self._last_progress < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_progress = time.monotonic()
        with self.locked() as (_, job):
            if job is not None and job.state is JobState.running:
                job.progress = {**job.progress, **update}
                job.heartbeat_at = now()
                self.cancel_requested = job.cancel_requested

    def finish(self, state: JobState, error: str | None = None, **fields: Any) -> None:
        with self.locked() as (_, job):
            if job is not None and not job.state.finished:
                self._finish(job, state, error, **fields)

    @staticmethod
    def _finish(job: TrainingJob, state: JobState, error: str | None, **fields: Any) -> None:
        job.state = state
        job.error = error
        job.finished_at = now()
        for name, value in fields.items():
            setattr(job, name, value)


def fail_stale_jobs(engine: Engine, stale_after_seconds: float) -> list[uuid.UUID]:
    """Running jobs silent for longer than any re-delivery would take: their task is gone for good."""
    cutoff = datetime.fromtimestamp(time.time() - stale_after_seconds, UTC)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions() as session, session.begin():
        stale = list(
            session.scalars(
                select(TrainingJob)
                .where(TrainingJob.state == JobState.running, TrainingJob.heartbeat_at < cutoff)
                .with_for_update(skip_locked=True)
            )
        )
        for job in stale:
            JobRecorder._finish(job, JobState.failed, f"no heartbeat since {job.heartbeat_at}: worker lost")
    return [job.id for job in stale]


def upload_directory(s3, bucket: str, directory: Path, prefix: str) -> int:
    count = 0
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, prefix + path.relative_to(directory).as_posix())
        count += 1
    return count


@dataclass(frozen=True)
class GateExternal:
    """The gate's evaluation of the candidate on ``SKINGUARD_GATE_EXTERNAL_DATASET``, before publishing."""

    dataset_id: uuid.UUID
    result: dict[str, Any]  # as ``evaluation_job.result_of``
    report_dir: Path


def gate_policy(settings: WorkerSettings) -> GatePolicy:
    return GatePolicy(
        min_auc=settings.gate_min_auc,
        margin=settings.gate_margin,
        sensitivity_tolerance=settings.gate_sensitivity_tolerance,
        max_ece=settings.gate_max_ece,
        external_dataset=str(settings.gate_external_dataset) if settings.gate_external_dataset else None,
        external_min_auc=settings.gate_external_min_auc,
        external_min_sensitivity=settings.gate_external_min_sensitivity,
    )


def publish(
    engine: Engine,
    s3,
    settings: WorkerSettings,
    job: TrainingJob,
    export_dir: Path,
    evaluation: dict[str, Any],
    sizes: dict[str, int],
    external: GateExternal | None = None,
) -> ModelVersion:
    """Decide the gate, write the model card, upload the version, register it — the rows in one transaction.

    Version numbers come from the registry under a per-model lock; a crash before the commit
    leaves files that the next attempt overwrites under the same number.
    """
    policy = gate_policy(settings)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions() as session, session.begin():
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"model:{job.model_name}"))))
        versions = list(
            session.scalars(select(ModelVersion).where(ModelVersion.model_name == job.model_name).with_for_update())
        )
        number = max((v.version for v in versions), default=0) + 1
        prefix = model_prefix(job.model_name, number)
        promoted = next((v for v in versions if v.status is ModelStatus.promoted), None)
        baseline = promoted.test_auc if promoted else None
        decision = decide(_evidence(evaluation, external), baseline, policy)
        gate = decision.as_dict(policy, baseline)
        evaluation_row = None
        if external is not None:
            evaluation_row = ModelEvaluation(
                model_name=job.model_name,
                version=number,
                dataset_id=external.dataset_id,
                split=None,
                state=JobState.succeeded,
                purpose=EvaluationPurpose.gate.value,
                result=external.result,
                attempts=1,
                started_at=now(),
                finished_at=now(),
            )
            evaluation_row.id = uuid.uuid4()
            report_prefix = evaluation_prefix(job.model_name, number, evaluation_row.id)
            upload_directory(s3, settings.s3_bucket, external.report_dir, report_prefix)
            evaluation_row.artifact_url = f"s3://{settings.s3_bucket}/{report_prefix}"
            session.add(evaluation_row)
        card_external = [] if external is None else [{"purpose": "gate", **external.result}]
        write_model_card(export_dir, version=number, gate=gate, external=card_external)
        upload_directory(s3, settings.s3_bucket, export_dir, prefix)
        candidate = ModelVersion(
            model_name=job.model_name,
            version=number,
            status=ModelStatus.candidate,
            job_id=job.id,
            dataset_id=job.dataset_id,
            artifact_url=f"s3://{settings.s3_bucket}/{prefix}",
            metrics={**summary(evaluation), "sizes": sizes},
            gate=gate,
            test_auc=evaluation.get("roc_auc"),
        )
        session.add(candidate)
        versions.append(candidate)
        if decision.promote:
            promote(candidate, versions)
        else:
            candidate.status = ModelStatus.rejected
        session.flush()
    publish_index(engine, s3, settings.s3_bucket, job.model_name)
    return candidate


def publish_index(engine: Engine, s3, bucket: str, model_name: str) -> None:
    """Write ``versions.json`` from the committed state, under the model's index lock."""
    with Session(engine) as session, session.begin():
        generation = session.execute(index_generation_bump(model_name)).scalar_one()
        versions = list(session.scalars(versions_of(model_name)))
        s3.put_object(
            Bucket=bucket,
            Key=versions_index_key(model_name),
            Body=versions_index(model_name, versions, generation).model_dump_json().encode(),
            ContentType="application/json",
        )


def _evidence(evaluation: dict[str, Any], external: GateExternal | None) -> GateEvidence:
    return GateEvidence(
        test_auc=evaluation.get("roc_auc"),
        test_sensitivity=evaluation.get("sensitivity"),
        test_ece=evaluation.get("ece"),
        target_sensitivity=evaluation.get("operating_point", {}).get("target_sensitivity"),
        external_auc=None if external is None else external.result.get("roc_auc"),
        external_sensitivity=None if external is None else external.result.get("sensitivity"),
    )
