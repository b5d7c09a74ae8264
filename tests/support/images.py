"""Generated test images (and a few real ones from ../shared/data when present)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def lesion_like(width: int = 256, height: int = 256, seed: int = 0) -> Image.Image:
    """A textured skin-tone image with a dark blob: distinct per seed, realistic enough for metrics."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    cx, cy = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
    radius = rng.uniform(0.15, 0.3) * min(width, height)
    blob = np.exp(-(((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2)))
    skin = np.array([224, 172, 140]) + rng.normal(0, 12, size=(height, width, 3))
    lesion = np.array([90, 50, 40]) * blob[..., None]
    pixels = np.clip(skin - lesion * rng.uniform(0.8, 1.4), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def encode(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def jpeg(width: int = 256, height: int = 256, seed: int = 0, **params) -> bytes:
    return encode(lesion_like(width, height, seed), "JPEG", quality=92, **params)


def png(width: int = 256, height: int = 256, seed: int = 0, **params) -> bytes:
    return encode(lesion_like(width, height, seed), "PNG", **params)


def exif_with_gps_and_serial(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0xA431] = "SERIAL-123456"  # BodySerialNumber
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 1.0)}  # GPS IFD
    return exif


def real_images(subset: str = "kaggle-mvb/train/benign", count: int = 3) -> list[Path]:
    folder = SHARED_DATA / subset
    return sorted(folder.glob("*.jpg"))[:count] if folder.is_dir() else []
