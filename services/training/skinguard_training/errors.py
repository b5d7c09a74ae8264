"""Why a training run stopped without a model."""

from __future__ import annotations


class TrainingCancelled(Exception):
    """``should_cancel()`` answered true; nothing was exported."""


class DatasetError(ValueError):
    """The dataset export cannot be trained on; the message names the image or split at fault."""
