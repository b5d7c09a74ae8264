"""Sample images for the imaging tests: generated ones, and real photos where the data exists."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

KAGGLE_TRAIN = Path("/work/shared/data/kaggle-mvb/train")
HAM_IMAGES = Path("/work/shared/data/ham10000/images")


def _first_jpegs(folder: Path, count: int) -> list[Path]:
    if not folder.is_dir():
        pytest.skip(f"real images not available at {folder}")
    return sorted(folder.glob("*.jpg"))[:count]


@pytest.fixture(scope="session")
def kaggle_jpegs() -> list[Path]:
    """40 real 224x224 photos: the first 20 benign and 20 malignant by name."""
    return _first_jpegs(KAGGLE_TRAIN / "benign", 20) + _first_jpegs(KAGGLE_TRAIN / "malignant", 20)


@pytest.fixture(scope="session")
def ham_jpegs() -> list[Path]:
    """Real 200x150 photos."""
    return _first_jpegs(HAM_IMAGES, 5)


def _lesion_like(seed: int, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    width, height = size
    rng = np.random.default_rng(seed)
    field = cv2.GaussianBlur(rng.normal(0, 1, (height, width)), (0, 0), sigmaX=width / 40)
    field = (field - field.min()) / np.ptp(field)
    skin = np.stack([200 + 40 * field, 150 + 40 * field, 130 + 30 * field], axis=2)
    blob = np.zeros((height, width), np.float32)
    centre = (int(width * rng.uniform(0.3, 0.6)), int(height * rng.uniform(0.3, 0.6)))
    axes = (int(width * rng.uniform(0.1, 0.25)), int(height * rng.uniform(0.1, 0.25)))
    cv2.ellipse(blob, centre, axes, rng.uniform(0, 180), 0, 360, 1.0, thickness=-1)
    blob = cv2.GaussianBlur(blob, (0, 0), sigmaX=3) * (0.6 + 0.4 * field)
    lesion = np.array([90.0, 50.0, 40.0])
    pixels = skin * (1 - blob[..., None]) + lesion * blob[..., None]
    return np.clip(pixels, 0, 255).astype(np.uint8)


@pytest.fixture
def lesion_like() -> Callable[..., np.ndarray]:
    """Make a skin-like RGB image ``(seed, size=(width, height))``: a mottled background and a
    dark blurred blob off centre, different for every seed."""
    return _lesion_like


@pytest.fixture
def encode() -> Callable[..., bytes]:
    """Save a PIL image to bytes in the given format, passing Pillow save options through."""

    def _encode(image: Image.Image, image_format: str, **options: object) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, image_format, **options)
        return buffer.getvalue()

    return _encode
