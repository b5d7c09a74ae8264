"""Is this a photo of skin at all? A small dedicated classifier for the gateway's refusal of
documents, landscapes, blank walls and other pictures that are not of a skin lesion.

Features: how the colours of a bounded copy spread over hue and saturation (dermoscopy and
clinical photos of skin are reds, browns and pinks with dark vignettes; documents are grey,
landscapes green and blue), plus brightness and darkness shares. A logistic regression over
them, fitted by ``bench/skin_photo_model.py`` (scikit-learn) on photos of ../shared/data and on
non-skin pictures shipped by scikit-image and scikit-learn or generated, and stored with its
threshold and its measured error rates in ``skin_photo_model.json``; scoring is plain numpy.
It judges colour, not shape: a close-up of a face or of plain skin passes.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import cv2
import numpy as np

from skinguard_contracts.errors import Invalid

_HUE_BINS, _SATURATION_BINS = 12, 3
_DARK, _GREY = 0.15, 0.12


def skin_photo_features(pixels: np.ndarray) -> np.ndarray:
    """``uint8 (h, w, 3)`` RGB -> the classifier's features (shares, so any size gives the same)."""
    step = max(1, -(-max(pixels.shape[:2]) // 256))
    hsv = cv2.cvtColor(np.ascontiguousarray(pixels[::step, ::step]), cv2.COLOR_RGB2HSV_FULL)
    saturation, value = (hsv[:, :, index].ravel().astype(np.float32) / 255 for index in (1, 2))
    lit = value > _DARK
    hue_cells, saturation_cells = _histogram_cells()
    cells = cv2.add(
        cv2.LUT(np.ascontiguousarray(hsv[:, :, 0]), hue_cells),
        cv2.LUT(np.ascontiguousarray(hsv[:, :, 1]), saturation_cells),
    ).ravel()
    histogram = np.bincount(cells[lit], minlength=_HUE_BINS * _SATURATION_BINS) / max(1, int(lit.sum()))
    summary = [
        1 - lit.mean(),
        (saturation[lit] < _GREY).mean() if lit.any() else 1.0,
        saturation.mean(),
        value.mean(),
        value.std(),
    ]
    return np.concatenate([histogram, np.asarray(summary, dtype=np.float64)])


@cache
def _histogram_cells() -> tuple[np.ndarray, np.ndarray]:
    """Per 8-bit hue and saturation: its part of the (hue, saturation) histogram cell's index,
    ``hue bin * saturation bins`` and ``saturation bin``, by ``np.histogram``'s own binning of
    ``value / 255`` over (0, 1). Looked up with OpenCV per pixel: ``np.histogram2d`` on the
    pixels cost ten times as much, and was most of the gateway's check of each photo."""
    levels = np.arange(256, dtype=np.float32) / 255

    def bins(count: int) -> np.ndarray:
        return np.array([np.flatnonzero(np.histogram(level, bins=count, range=(0, 1))[0])[0] for level in levels])

    return (bins(_HUE_BINS) * _SATURATION_BINS).astype(np.uint8), bins(_SATURATION_BINS).astype(np.uint8)


@cache
def _model() -> dict:
    return json.loads(resources.files(__package__).joinpath("skin_photo_model.json").read_text())


def skin_photo_score(pixels: np.ndarray) -> float:
    """Probability-like score that ``pixels`` show skin (the logistic regression's output)."""
    model = _model()
    features = (skin_photo_features(pixels) - np.asarray(model["mean"])) / np.asarray(model["scale"])
    return float(1 / (1 + np.exp(-(features @ np.asarray(model["coefficients"]) + model["intercept"]))))


def check_skin_photo(score: float) -> None:
    model = _model()
    if score < model["threshold"]:
        raise Invalid(
            "This does not look like a photo of skin (its colours are those of a document, a landscape "
            "or an object). Photograph the lesion close up, filling most of the picture with skin.",
            code="not_skin",
        )
