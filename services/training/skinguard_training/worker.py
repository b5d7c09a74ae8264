"""The training worker: a Celery app on Redis, queue ``training``, one training per child process.

Delivery is at-least-once (late acknowledgement, re-queued when a worker dies); the task is
idempotent through the job row: a finished job is not run again, a job whose worker died is
re-run until ``max_attempts``, then failed with the reason. TensorFlow is imported only inside
the task, in the child process, which is replaced after every task (``max_tasks_per_child=1``).
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
import uuid

from celery import Celery, signals
from redis import Redis
from redis.exceptions import RedisError

from skinguard_contracts.keys import IMAGES_PREFIX
from skinguard_contracts.tasks import EVALUATE_TASK, TRAIN_TASK, TRAINING_QUEUE, cancel_key
from skinguard_contracts.training_config import TrainingConfig
from skinguard_database import sync_engine
from skinguard_registry.records import JobState
from skinguard_runtime.logging import configure_logging
from skinguard_runtime.storage import s3_client

from .dataset_source import frozen_dataset, job_dataset
from .jobs import GateExternal, JobRecorder, fail_stale_jobs, publish
from .settings import WorkerSettings

logger = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15


def create_celery(settings: WorkerSettings) -> Celery:
    app = Celery("skinguard-training", broker=settings.redis_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=1,
        worker_concurrency=settings.worker_concurrency,
        task_default_queue=TRAINING_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": settings.visibility_timeout_seconds},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    @app.task(name=TRAIN_TASK, bind=True)
    def train(task, job_id: str) -> str:
        return run_job(settings, uuid.UUID(job_id))

    @app.task(name=EVALUATE_TASK, bind=True)
    def evaluate(task, evaluation_id: str) -> str:
        from .evaluation_job import run_evaluation_job  # TensorFlow loads in the child process only

        return run_evaluation_job(settings, uuid.UUID(evaluation_id))

    return app


def run_job(settings: WorkerSettings, job_id: uuid.UUID) -> str:
    engine = sync_engine(settings.database_url)
    recorder = JobRecorder(engine, job_id)
    job, reason = recorder.start(settings.max_attempts)
    if job is None:
        logger.info("training job not run", extra={"job_id": str(job_id), "reason": reason})
        engine.dispose()
        return reason or "not run"

    from .errors import TrainingCancelled
    from .pipeline import run_training

    redis = Redis.from_url(settings.redis_url)
    s3 = s3_client(settings)
    work_dir = settings.work_dir / str(job_id)
    shutil.rmtree(work_dir, ignore_errors=True)  # a re-run after a lost worker starts clean

    history: list[dict] = []  # one entry per finished epoch: the web app's loss and AUC curves

    def on_progress(epoch: int, batch: int, metrics: dict) -> None:
        epoch_ended = any(name.startswith("val_") for name in metrics)  # always record an epoch's result
        if epoch_ended:
            history.append({"epoch": epoch, **metrics})
        update = {"phase": "training", "epoch": epoch, "batch": batch, "metrics": metrics, "history": history}
        recorder.progress(update, force=epoch_ended)

    def should_cancel() -> bool:
        """The Redis flag (checked every batch), or the database's (read with each progress write)."""
        if recorder.cancel_requested:
            return True
        try:
            return bool(redis.exists(cancel_key(job_id)))
        except RedisError:
            recorder.progress({}, force=False)  # at most once a second: reads the database's flag
            return recorder.cancel_requested

    try:
        manifest, fetch = job_dataset(s3, settings.s3_bucket, job.id)
        config = TrainingConfig.model_validate(job.config)
        recorder.progress({"phase": "training", "epochs": config.epochs}, force=True)
        result = run_training(
            manifest,
            fetch,
            config,
            work_dir,
            on_progress,
            should_cancel,
            cache=settings.image_cache(),
            model_name=job.model_name,
            dataset_id=str(job.dataset_id),
            dataset_version=manifest.dataset.version,
            weights_dir=settings.weights_dir,
        )
        external = None
        if settings.gate_external_dataset is not None:
            recorder.progress({"phase": "external evaluation"}, force=True)
            external = gate_evaluation(settings, s3, result.export.directory, work_dir / "gate", should_cancel)
        recorder.progress({"phase": "publishing"}, force=True)
        sizes = {"saved_model_bytes": result.export.saved_model_bytes, "tflite_bytes": result.export.tflite_bytes}
        version = publish(engine, s3, settings, job, result.export.directory, result.evaluation, sizes, external)
        logger.info("published %s version %s, %s", job.model_name, version.version, version.gate["reason"])
        recorder.progress({"phase": "done", "gate": version.gate, "status": version.status.value}, force=True)
        recorder.finish(JobState.succeeded, model_version=version.version)
        return f"version {version.version} {version.status.value}"
    except TrainingCancelled:
        recorder.finish(JobState.cancelled, "cancelled while training")
        return "cancelled"
    except Exception as error:
        logger.exception("training job failed", extra={"job_id": str(job_id)})
        recorder.finish(JobState.failed, f"{type(error).__name__}: {error}"[:2000])
        return "failed"
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
        redis.close()
        engine.dispose()


def gate_evaluation(settings: WorkerSettings, s3, model_dir, work_dir, should_cancel) -> GateExternal:
    """Evaluate the exported candidate on the gate's external dataset version (every image)."""
    from .evaluation_job import dataset_images, evaluate_directory, result_of

    dataset_id = settings.gate_external_dataset
    assert dataset_id is not None
    manifest, fetch = frozen_dataset(s3, settings.s3_bucket, dataset_id)
    outcome = evaluate_directory(
        model_dir,
        dataset_images(manifest, None),
        fetch,
        cache=settings.image_cache(),
        work_dir=work_dir,
        should_cancel=should_cancel,
    )
    return GateExternal(dataset_id, result_of(outcome.evaluation, manifest, None), outcome.report_dir)


def sweep_image_cache(settings: WorkerSettings, s3) -> int:
    """Bound the pixel cache and drop the entries of images no longer in the bucket (erased)."""
    stored: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings.s3_bucket, Prefix=IMAGES_PREFIX):
        stored.update(item["Key"].removeprefix(IMAGES_PREFIX) for item in page.get("Contents", []))
    removed = settings.image_cache().sweep(stored.__contains__)
    if removed:
        logger.info("swept %d entries from the image cache", removed)
    return removed


def _keep_heartbeat(settings: WorkerSettings) -> None:
    """Touch the liveness file, fail jobs whose worker vanished without the queue noticing and,
    every ``image_cache_sweep_seconds``, sweep the pixel cache."""
    engine = sync_engine(settings.database_url)
    s3 = s3_client(settings)
    stale_after = settings.stale_after_seconds
    next_sweep = time.monotonic()

    def beat() -> None:
        nonlocal next_sweep
        while True:
            settings.heartbeat_file.touch()
            try:
                for job_id in fail_stale_jobs(engine, stale_after):
                    logger.warning("failed a training job with no heartbeat", extra={"job_id": str(job_id)})
            except Exception:
                logger.exception("could not check for stale training jobs")
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + settings.image_cache_sweep_seconds
                try:
                    sweep_image_cache(settings, s3)
                except Exception:
                    logger.exception("could not sweep the image cache")
            threading.Event().wait(min(HEARTBEAT_SECONDS, settings.image_cache_sweep_seconds))

    threading.Thread(target=beat, daemon=True, name="heartbeat").start()


def main(argv: list[str] | None = None) -> int:
    settings = WorkerSettings()
    configure_logging(settings.log_level, json_lines=settings.log_json)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    app = create_celery(settings)
    signals.worker_ready.connect(lambda **_: _keep_heartbeat(settings), weak=False)
    app.worker_main(
        [
            "worker",
            "--queues",
            TRAINING_QUEUE,
            "--hostname",
            "training@%h",
            "--loglevel",
            settings.log_level,
            "--pool",
            "prefork",
            *(argv if argv is not None else sys.argv[1:]),
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
