"""Training jobs (queued here, run by the worker) and people's decisions on model versions."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from celery import Celery
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skinguard_chassis.auth import Principal
from skinguard_chassis.sessions import after_commit
from skinguard_contracts.errors import Conflict, Invalid, NotFound, ServiceUnavailable
from skinguard_contracts.keys import model_card_key, model_plots_prefix, versions_index_key
from skinguard_contracts.tasks import EVALUATE_TASK, TRAIN_TASK, TRAINING_QUEUE, cancel_key
from skinguard_registry.promotion import index_generation_bump, promote, rollback, versions_index, versions_of
from skinguard_registry.records import (
    EvaluationPurpose,
    JobState,
    ModelEvaluation,
    ModelStatus,
    ModelVersion,
    TrainingJob,
)
from skinguard_runtime.storage import ObjectMissing, ObjectStore

from ..datasets.service import get_dataset, snapshot_for_job
from .schemas import EvaluationIn, TrainingJobIn

logger = logging.getLogger(__name__)


def queue_sender(redis_url: str, timeout_seconds: float) -> Celery:
    """The Celery app that publishes tasks, every wait on Redis bounded: a Redis outage answers
    503 within about ``timeout_seconds`` instead of blocking until Redis returns."""
    app = Celery("skinguard-annotation", broker=redis_url)
    app.conf.update(
        broker_connection_timeout=timeout_seconds,
        broker_connection_retry=False,
        broker_transport_options={"socket_timeout": timeout_seconds, "socket_connect_timeout": timeout_seconds},
        task_publish_retry=False,
    )
    return app


class QueueClient:
    """Sends Celery tasks and cancel signals; both talk to Redis, off the event loop."""

    def __init__(self, celery, redis) -> None:
        self.celery = celery
        self.redis = redis

    async def enqueue(self, job_id: uuid.UUID, task: str = TRAIN_TASK) -> None:
        await asyncio.to_thread(self.celery.send_task, task, args=[str(job_id)], queue=TRAINING_QUEUE)

    async def request_cancel(self, job_id: uuid.UUID) -> None:
        await asyncio.to_thread(self.redis.set, cancel_key(job_id), "1", ex=7 * 24 * 3600)


def send_after_commit(session: AsyncSession, queue: QueueClient, row: TrainingJob | ModelEvaluation, task: str) -> None:
    """Send ``task`` for ``row`` once the request commits; if the queue is unreachable, the row is
    failed with the reason and the request answers 503 (the one queue-unavailable answer)."""

    async def send() -> None:
        try:
            await queue.enqueue(row.id, task)
        except Exception as error:
            logger.exception("could not enqueue", extra={"task": task, "id": str(row.id)})
            row.state = JobState.failed
            row.error = f"could not enqueue: {error}"
            row.finished_at = datetime.now(UTC)
            await session.commit()
            raise ServiceUnavailable("the training queue is unavailable; nothing was started") from error

    after_commit(session, send)


async def create_job(
    session: AsyncSession,
    queue: QueueClient,
    store: ObjectStore,
    bucket: str,
    principal: Principal,
    dataset_id: uuid.UUID,
    request: TrainingJobIn,
) -> TrainingJob:
    """The job row now, the task once the request commits: a rolled-back request never starts training."""
    dataset = await get_dataset(session, dataset_id)
    empty = [name for name, counts in dataset.leakage_report["splits"].items() if counts["images"] == 0]
    if empty:
        raise Invalid(
            f"dataset {dataset.name} v{dataset.version} has no {' or '.join(empty)} images; "
            "training needs all three splits",
            code="unusable_dataset",
        )
    job = TrainingJob(
        dataset_id=dataset_id,
        model_name=request.model_name,
        config=request.config.model_dump(mode="json"),
        state=JobState.queued,
        progress={},
        cancel_requested=False,
        attempts=0,
        created_by=principal.user_id,
    )
    session.add(job)
    await session.flush()
    await snapshot_for_job(session, store, bucket, dataset, job.id)
    send_after_commit(session, queue, job, TRAIN_TASK)
    return job


async def get_job(session: AsyncSession, job_id: uuid.UUID, *, for_update: bool = False) -> TrainingJob:
    query = select(TrainingJob).where(TrainingJob.id == job_id)
    job = await session.scalar(query.with_for_update() if for_update else query)
    if job is None:
        raise NotFound(f"no training job with id {job_id}")
    return job


async def list_jobs(
    session: AsyncSession, *, state: JobState | None, dataset_id: uuid.UUID | None, limit: int, offset: int
) -> tuple[list[TrainingJob], int]:
    query = select(TrainingJob)
    if state is not None:
        query = query.where(TrainingJob.state == state)
    if dataset_id is not None:
        query = query.where(TrainingJob.dataset_id == dataset_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    page = await session.scalars(
        query.order_by(TrainingJob.created_at.desc(), TrainingJob.id).limit(limit).offset(offset)
    )
    return list(page), total or 0


async def cancel_job(session: AsyncSession, queue: QueueClient, job_id: uuid.UUID) -> TrainingJob:
    """A queued job is cancelled at once; a running one stops at its next batch (the Redis flag) or,
    if Redis is away, at its next progress report (the database flag)."""
    job = await get_job(session, job_id, for_update=True)
    if job.state.finished:
        raise Conflict(f"the job already ended ({job.state.value})", code="job_finished")
    job.cancel_requested = True
    if job.state is JobState.queued:
        job.state = JobState.cancelled
        job.finished_at = datetime.now(UTC)
    await session.flush()

    async def flag() -> None:
        try:
            await queue.request_cancel(job.id)
        except Exception as error:
            raise ServiceUnavailable(
                "the cancel is recorded, but the queue is unreachable: a running job sees it at its next "
                "progress report instead of its next batch"
            ) from error

    after_commit(session, flag)
    return job


async def list_versions(session: AsyncSession, model_name: str | None) -> list[ModelVersion]:
    query = select(ModelVersion).order_by(ModelVersion.model_name, ModelVersion.version.desc())
    if model_name is not None:
        query = query.where(ModelVersion.model_name == model_name)
    return list(await session.scalars(query))


async def _versions_for_update(
    session: AsyncSession, model_name: str, version: int
) -> tuple[ModelVersion, list[ModelVersion]]:
    # The worker's lock too (``jobs.publish``): one writer of a model's versions at a time, so
    # row locks taken in different orders can never deadlock.
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"model:{model_name}"))))
    versions = list(
        await session.scalars(
            select(ModelVersion)
            .where(ModelVersion.model_name == model_name)
            .order_by(ModelVersion.version)
            .with_for_update()
        )
    )
    target = next((v for v in versions if v.version == version), None)
    if target is None:
        raise NotFound(f"no version {version} of model {model_name!r}")
    return target, versions


def _publish_index(session: AsyncSession, store: ObjectStore, model_name: str) -> None:
    """Once committed, write the index model-sync follows from the committed state, under the
    model's index lock (``skinguard_registry.promotion``); rewritten by the next change if S3 fails."""
    engine = session.bind

    async def write() -> None:
        async with AsyncSession(engine) as fresh, fresh.begin():
            generation = (await fresh.execute(index_generation_bump(model_name))).scalar_one()
            versions = list(await fresh.scalars(versions_of(model_name)))
            body = versions_index(model_name, versions, generation).model_dump_json().encode()
            await store.put(versions_index_key(model_name), body, "application/json")

    after_commit(session, write)


async def promote_version(session: AsyncSession, store: ObjectStore, model_name: str, version: int) -> ModelVersion:
    target, versions = await _versions_for_update(session, model_name, version)
    if target.status is ModelStatus.promoted:
        raise Conflict(f"version {version} is already promoted", code="already_promoted")
    promote(target, versions)
    target.gate = {**target.gate, "override": "promoted by a person"}
    await session.flush()
    _publish_index(session, store, model_name)
    return target


async def rollback_version(
    session: AsyncSession, store: ObjectStore, model_name: str, version: int
) -> ModelVersion | None:
    target, versions = await _versions_for_update(session, model_name, version)
    if target.status is not ModelStatus.promoted:
        raise Conflict(f"version {version} is not the promoted version", code="not_promoted")
    previous = rollback(target, versions)
    await session.flush()
    _publish_index(session, store, model_name)
    return previous


async def get_version(session: AsyncSession, model_name: str, version: int) -> ModelVersion:
    found = await session.scalar(
        select(ModelVersion).where(ModelVersion.model_name == model_name, ModelVersion.version == version)
    )
    if found is None:
        raise NotFound(f"no version {version} of model {model_name!r}")
    return found


async def create_evaluation(
    session: AsyncSession,
    queue: QueueClient,
    store: ObjectStore,
    bucket: str,
    principal: Principal,
    model_name: str,
    version: int,
    request: EvaluationIn,
) -> ModelEvaluation:
    """The evaluation row now, the task once the request commits (as for training jobs)."""
    await get_version(session, model_name, version)
    dataset = await get_dataset(session, request.dataset_id)
    if request.split is not None and dataset.leakage_report["splits"][request.split]["images"] == 0:
        raise Invalid(
            f"dataset {dataset.name} v{dataset.version} has no {request.split} images", code="unusable_dataset"
        )
    evaluation = ModelEvaluation(
        model_name=model_name,
        version=version,
        dataset_id=dataset.id,
        split=request.split,
        state=JobState.queued,
        purpose=EvaluationPurpose.request.value,
        attempts=0,
        created_by=principal.user_id,
    )
    session.add(evaluation)
    await session.flush()
    await snapshot_for_job(session, store, bucket, dataset, evaluation.id)
    send_after_commit(session, queue, evaluation, EVALUATE_TASK)
    return evaluation


async def list_evaluations(session: AsyncSession, model_name: str, version: int) -> list[ModelEvaluation]:
    await get_version(session, model_name, version)
    query = (
        select(ModelEvaluation)
        .where(ModelEvaluation.model_name == model_name, ModelEvaluation.version == version)
        .order_by(ModelEvaluation.created_at.desc(), ModelEvaluation.id)
    )
    return list(await session.scalars(query))


async def get_evaluation(
    session: AsyncSession, model_name: str, version: int, evaluation_id: uuid.UUID
) -> ModelEvaluation:
    evaluation = await session.get(ModelEvaluation, evaluation_id)
    if evaluation is None or (evaluation.model_name, evaluation.version) != (model_name, version):
        raise NotFound(f"no evaluation {evaluation_id} of version {version} of model {model_name!r}")
    return evaluation


async def model_card(session: AsyncSession, store: ObjectStore, model_name: str, version: int) -> dict[str, Any]:
    """The version's model_card.json as the worker last wrote it."""
    await get_version(session, model_name, version)
    try:
        return json.loads(await store.get(model_card_key(model_name, version)))
    except ObjectMissing as error:
        raise NotFound(
            f"version {version} of model {model_name!r} has no model card (published before cards existed)",
            code="no_model_card",
        ) from error


async def plot_names(session: AsyncSession, store: ObjectStore, model_name: str, version: int) -> list[str]:
    await get_version(session, model_name, version)
    prefix = model_plots_prefix(model_name, version)
    return sorted(key.removeprefix(prefix) for key, _ in await store.listing(prefix) if key.endswith(".png"))


async def plot(session: AsyncSession, store: ObjectStore, model_name: str, version: int, name: str) -> bytes:
    await get_version(session, model_name, version)
    try:
        return await store.get(model_plots_prefix(model_name, version) + name)
    except ObjectMissing as error:
        raise NotFound(f"version {version} of model {model_name!r} has no plot {name!r}", code="no_plot") from error
