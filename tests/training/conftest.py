"""Tiny generated datasets for the training tests: small photos whose class shows in their colour."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from skinguard_contracts.manifest import ExportedImage
from skinguard_contracts.training_config import TrainingConfig
from skinguard_training.pipeline import RunResult, run_training

# Small and quick: a 32-pixel CNN trained for two epochs of four batches.
TINY_CONFIG = {
    "model_type": "CNN",
    "input_size": 32,
    "batch_size": 4,
    "epochs": 2,
    "early_stopping_patience": 0,
    "reduce_lr_patience": 0,
    "log_every_n_batches": 1,
}


def lesion_pixels(label: str, seed: int, size: int = 48) -> np.ndarray:
    """Skin-toned noise with a dark (malignant) or light brown (benign) blob off centre."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    centre = rng.uniform(0.35, 0.65, 2) * size
    blob = np.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / (2 * (size / 5) ** 2))[..., None]
    lesion = np.array([70, 40, 35] if label == "malignant" else [170, 120, 90])
    skin = np.array([215, 170, 145]) + rng.normal(0, 12, (size, size, 3))
    return np.clip(skin * (1 - blob) + lesion * blob, 0, 255).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def tiny_dataset() -> tuple[dict[str, Any], dict[str, bytes]]:
    """An export of 24 images (16 train, 4 validation, 4 test; half malignant) and their bytes by id."""
    blobs, images = {}, []
    for index in range(24):
        label = "malignant" if index % 2 else "benign"
        image_id = f"image-{index:02d}"
        blobs[image_id] = png_bytes(lesion_pixels(label, seed=index))
        images.append({"id": image_id, "url": f"s3://bucket/images/{index}", "label": label, "metadata": {}})
    ids = [image["id"] for image in images]
    manifest = {"images": images, "splits": {"train": ids[:16], "validation": ids[16:20], "test": ids[20:]}}
    return manifest, blobs


def fetch_from(blobs: dict[str, bytes]) -> Callable[[ExportedImage], bytes]:
    return lambda image: blobs[image.id]


@pytest.fixture(scope="session")
def trained_run(
    tmp_path_factory: pytest.TempPathFactory, tiny_dataset: tuple[dict[str, Any], dict[str, bytes]]
) -> tuple[RunResult, list[tuple[int, int, dict[str, float]]]]:
    """One real run through the whole pipeline, with the progress reports it made."""
    manifest, blobs = tiny_dataset
    progress: list[tuple[int, int, dict[str, float]]] = []
    result = run_training(
        manifest,
        fetch_from(blobs),
        TrainingConfig(**TINY_CONFIG),
        tmp_path_factory.mktemp("run"),
        on_progress=lambda epoch, batch, metrics: progress.append((epoch, batch, metrics)),
        dataset_id="dataset-1",
        dataset_version=3,
    )
    return result, progress


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path / "work"
