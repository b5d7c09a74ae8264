from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from skinguard_contracts.training_config import TrainingConfig
from skinguard_training.errors import TrainingCancelled
from skinguard_training.pipeline import run_training

from .conftest import TINY_CONFIG, fetch_from


def test_cancelling_stops_training_before_the_next_batch_and_exports_nothing(
    tiny_dataset: tuple[dict[str, Any], dict[str, bytes]], tmp_path: Path
) -> None:
    manifest, blobs = tiny_dataset
    batches_trained: list[tuple[int, int]] = []
    cancel_after = 3  # of the 4 batches of epoch 1

    with pytest.raises(TrainingCancelled, match="epoch 1, before training batch 4"):
        run_training(
            manifest,
            fetch_from(blobs),
            TrainingConfig(**TINY_CONFIG),
            tmp_path,
            on_progress=lambda epoch, batch, metrics: batches_trained.append((epoch, batch)),
            should_cancel=lambda: len(batches_trained) >= cancel_after,
        )

    assert batches_trained == [(1, 1), (1, 2), (1, 3)]
    assert not (tmp_path / "export").exists()
