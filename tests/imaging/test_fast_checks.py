"""The gateway's per-photo checks are computed the fast way; they must equal their plain numpy
definitions exactly, on any picture (Hypothesis draws sizes, flat areas and noise)."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from skinguard_imaging.content import uniform_fraction
from skinguard_imaging.skin_photo import _DARK, _GREY, _HUE_BINS, _SATURATION_BINS, skin_photo_features


def reference_skin_photo_features(pixels: np.ndarray) -> np.ndarray:
    """The features as first written: ``np.histogram2d`` over hue and saturation."""
    step = max(1, -(-max(pixels.shape[:2]) // 256))
    hsv = cv2.cvtColor(np.ascontiguousarray(pixels[::step, ::step]), cv2.COLOR_RGB2HSV_FULL).reshape(-1, 3)
    hue, saturation, value = (hsv[:, index].astype(np.float32) / 255 for index in range(3))
    lit = value > _DARK
    cells = (_HUE_BINS, _SATURATION_BINS)
    histogram = np.histogram2d(hue[lit], saturation[lit], bins=cells, range=((0, 1), (0, 1)))[0].ravel()
    summary = [
        1 - lit.mean(),
        (saturation[lit] < _GREY).mean() if lit.any() else 1.0,
        saturation.mean(),
        value.mean(),
        value.std(),
    ]
    return np.concatenate([histogram / max(1, int(lit.sum())), np.asarray(summary, dtype=np.float64)])


def reference_uniform_fraction(pixels: np.ndarray) -> float:
    """The flat-block share as first written: a (rows, 8, columns, 8, 3) view reduced over 1 and 3."""
    step = max(1, -(-max(pixels.shape[:2]) // 256))
    small = pixels[::step, ::step]
    rows, columns = small.shape[0] // 8, small.shape[1] // 8
    if rows == 0 or columns == 0:
        return 0.0
    blocks = small[: rows * 8, : columns * 8].reshape(rows, 8, columns, 8, -1)
    spread = blocks.max(axis=(1, 3)).astype(np.int16) - blocks.min(axis=(1, 3))
    return float((spread.max(axis=-1) <= 2).mean())


@st.composite
def pictures(draw) -> np.ndarray:
    """Noise, flat rectangles and every hue: the cases the bins and blocks must agree on."""
    height, width = draw(st.integers(1, 600)), draw(st.integers(1, 600))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    for _ in range(draw(st.integers(0, 3))):
        top, left = rng.integers(0, height), rng.integers(0, width)
        pixels[top : top + rng.integers(1, 300), left : left + rng.integers(1, 300)] = rng.integers(0, 256, 3)
    if draw(st.booleans()):  # a low-noise, skin-like picture: small spreads near the tolerance
        pixels = (pixels // 64 + np.array([180, 120, 100])).astype(np.uint8)
    return pixels


@settings(max_examples=150, deadline=None)
@given(pictures())
def test_skin_photo_features_equal_the_histogram2d_definition(pixels: np.ndarray) -> None:
    assert np.array_equal(skin_photo_features(pixels), reference_skin_photo_features(pixels))


@settings(max_examples=150, deadline=None)
@given(pictures())
def test_uniform_fraction_equals_the_block_reduction_definition(pixels: np.ndarray) -> None:
    assert uniform_fraction(pixels) == reference_uniform_fraction(pixels)


def test_every_hue_and_saturation_level_lands_in_histogram2ds_cell() -> None:
    # All 256 x 256 (hue, saturation) pairs at full value, one pixel each.
    hue, saturation = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    hsv = np.stack([hue, saturation, np.full_like(hue, 255)], axis=-1)
    pixels = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB_FULL)
    assert np.array_equal(skin_photo_features(pixels), reference_skin_photo_features(pixels))
