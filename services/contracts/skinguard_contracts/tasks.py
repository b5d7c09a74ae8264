"""The Celery contract between the annotation service (sender) and the training worker."""

from __future__ import annotations

import uuid

TRAINING_QUEUE = "training"
TRAIN_TASK = "skinguard.train"  # its only argument: the training job id (a string)
EVALUATE_TASK = "skinguard.evaluate"  # its only argument: the evaluation id (a string)


def cancel_key(job_id: uuid.UUID | str) -> str:
    """Redis key the API sets to ask a running job to stop (checked by the worker every batch)."""
    return f"skinguard:training-job:{job_id}:cancel"
