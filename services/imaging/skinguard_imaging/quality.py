"""Image quality measurements shown to users and used to flag unusable photos."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .skin_photo import skin_photo_score


@dataclass(frozen=True, slots=True)
class QualityMetrics:
    width: int
    height: int
    file_size: int  # bytes
    blur_score: float  # variance of the Laplacian of the grey image; low means blurred
    brightness_score: float  # mean grey level, 0-255
    contrast_score: float  # RMS contrast: standard deviation of the grey levels, 0-255
    skin_score: float  # how much its colours look like a photo of skin, 0-1 (``skin_photo``)


def measure_quality(pixels: np.ndarray, *, file_size: int) -> QualityMetrics:
    """Measure an RGB ``uint8`` image of shape ``(height, width, 3)``, as ``decode_rgb`` returns."""
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    height, width = grey.shape
    return QualityMetrics(
        width=width,
        height=height,
        file_size=file_size,
        blur_score=float(cv2.Laplacian(grey, cv2.CV_64F).var()),
        brightness_score=float(grey.mean()),
        contrast_score=float(grey.std()),
        skin_score=skin_photo_score(pixels),
    )
