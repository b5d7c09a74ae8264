"""A content check for what still decodes: a photo that is mostly filler is not judged.

Damage that survives the integrity checks, screenshots and blank images show large areas of
one exact colour; a real photo, even of plain skin, has sensor noise everywhere. The measure:
the share of 8x8 blocks, on a nearest-neighbour copy at most 256 px wide (so noise is not
averaged away and memory stays bounded), whose every channel spans at most 2 grey levels.
Measured on 3,000 photos of ../shared/data (2026-12-01, ``bench/input_checks.py``): median 0,
largest 0.41 (ISIC's black vignette corners); the refusal starts above 0.6.
"""

from __future__ import annotations

import numpy as np

from skinguard_contracts.errors import Invalid

MAX_UNIFORM_FRACTION = 0.6
_SIDE = 256
_BLOCK = 8
_TOLERANCE = 2


def uniform_fraction(pixels: np.ndarray) -> float:
    """The share of flat 8x8 blocks in ``pixels`` (``uint8 (h, w, 3)``)."""
    height, width = pixels.shape[:2]
    step = max(1, -(-max(height, width) // _SIDE))
    small = pixels[::step, ::step]
    rows, columns = small.shape[0] // _BLOCK, small.shape[1] // _BLOCK
    if rows == 0 or columns == 0:
        return 0.0
    small = small[: rows * _BLOCK, : columns * _BLOCK]
    # Each block's extremes by elementwise maximum/minimum of strided slices, rows then columns:
    # 35 times faster than reducing a (rows, 8, columns, 8, 3) view over its axes 1 and 3.
    high = np.maximum.reduce([small[offset::_BLOCK] for offset in range(_BLOCK)])
    low = np.minimum.reduce([small[offset::_BLOCK] for offset in range(_BLOCK)])
    high = np.maximum.reduce([high[:, offset::_BLOCK] for offset in range(_BLOCK)])
    low = np.minimum.reduce([low[:, offset::_BLOCK] for offset in range(_BLOCK)])
    return float(((high - low).max(axis=-1) <= _TOLERANCE).mean())


def check_content(pixels: np.ndarray) -> None:
    fraction = uniform_fraction(pixels)
    if fraction > MAX_UNIFORM_FRACTION:
        raise Invalid(
            f"{fraction:.0%} of the image is one flat colour, as in a damaged file, a screenshot or a "
            "blank picture; a photo of skin is not. Upload the original photo of the lesion.",
            code="mostly_uniform",
        )
