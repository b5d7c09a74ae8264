from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageEnhance

from skinguard_imaging import (
    NEAR_DUPLICATE_MAX_DISTANCE,
    decode_rgb,
    hamming_distance,
    perceptual_hash,
)

Transform = Callable[[np.ndarray], np.ndarray]

DIHEDRAL: dict[str, Transform] = {
    "mirror left-right": lambda x: x[:, ::-1],
    "mirror top-bottom": lambda x: x[::-1],
    "rotate 90": lambda x: np.rot90(x, 1),
    "rotate 180": lambda x: np.rot90(x, 2),
    "rotate 270": lambda x: np.rot90(x, 3),
    "transpose": lambda x: x.transpose(1, 0, 2),
}


def _hue_shift(pixels: np.ndarray, degrees: int) -> np.ndarray:
    hsv = cv2.cvtColor(pixels, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + degrees // 2) % 180  # OpenCV hue is 0..179
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def _enhance(pixels: np.ndarray, enhancer: type[ImageEnhance._Enhance], factor: float) -> np.ndarray:
    return np.asarray(enhancer(Image.fromarray(pixels)).enhance(factor))


def _jpeg_round_trip(pixels: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=75)
    return decode_rgb(buffer.getvalue())


RECOLOURINGS: dict[str, Transform] = {
    "hue +15": lambda x: _hue_shift(x, 15),
    "hue -15": lambda x: _hue_shift(x, -15),
    "swap red and blue": lambda x: x[..., ::-1],
    "rotate channels": lambda x: x[..., [1, 2, 0]],
    "greyscale": lambda x: np.repeat(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2),
    "darker": lambda x: _enhance(x, ImageEnhance.Brightness, 0.75),
    "brighter": lambda x: _enhance(x, ImageEnhance.Brightness, 1.1),
    "less contrast": lambda x: _enhance(x, ImageEnhance.Contrast, 0.7),
    "more contrast": lambda x: _enhance(x, ImageEnhance.Contrast, 1.3),
    "desaturated": lambda x: _enhance(x, ImageEnhance.Color, 0.5),
    "saturated": lambda x: _enhance(x, ImageEnhance.Color, 1.4),
    "gamma 0.8": lambda x: (255 * (x / 255) ** 0.8).round().astype(np.uint8),
    "colour jitter": lambda x: _enhance(
        _enhance(_hue_shift(x, 10), ImageEnhance.Contrast, 0.85), ImageEnhance.Color, 1.2
    ),
    "rotated, channels swapped and hue shifted": lambda x: _hue_shift(np.rot90(x)[..., ::-1], 10),
    "JPEG re-compression": _jpeg_round_trip,
    "downscaled": lambda x: cv2.resize(x, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA),
}


@pytest.fixture
def photos(request: pytest.FixtureRequest, lesion_like) -> list[np.ndarray]:
    """Ten real photos, or generated lesion-like images where the data is absent."""
    try:
        paths: list[Path] = request.getfixturevalue("kaggle_jpegs")
    except pytest.skip.Exception:
        return [lesion_like(seed) for seed in range(10)]
    return [decode_rgb(path.read_bytes()) for path in paths[::4]]


def _hash(pixels: np.ndarray) -> str:
    return perceptual_hash(np.ascontiguousarray(pixels))


def test_hash_is_16_hex_digits(lesion_like) -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", perceptual_hash(lesion_like(seed=1)))


def test_flat_image_hashes_without_error() -> None:
    assert perceptual_hash(np.full((50, 40, 3), 128, np.uint8)) == "0" * 16


@pytest.mark.parametrize("transform", DIHEDRAL.values(), ids=DIHEDRAL.keys())
def test_flips_and_rotations_give_the_same_hash(photos, lesion_like, transform) -> None:
    non_square = lesion_like(seed=7, size=(300, 200))
    for pixels in [*photos, non_square]:
        assert _hash(transform(pixels)) == _hash(pixels)


@pytest.mark.parametrize("transform", RECOLOURINGS.values(), ids=RECOLOURINGS.keys())
def test_recoloured_copies_are_near_duplicates(photos, transform) -> None:
    distances = [hamming_distance(_hash(transform(p)), _hash(p)) for p in photos]

    assert max(distances) <= NEAR_DUPLICATE_MAX_DISTANCE, distances


def test_unrelated_real_photos_are_not_near_duplicates(kaggle_jpegs: list[Path]) -> None:
    hashes = [perceptual_hash(decode_rgb(path.read_bytes())) for path in kaggle_jpegs]

    distances = [hamming_distance(a, b) for a, b in itertools.combinations(hashes, 2)]

    # Measured on these 40 photos: 18 at the closest, 26 at the median.
    assert min(distances) > NEAR_DUPLICATE_MAX_DISTANCE + 4, min(distances)


def test_unrelated_generated_images_are_not_near_duplicates(lesion_like) -> None:
    hashes = [perceptual_hash(lesion_like(seed)) for seed in range(10)]

    distances = [hamming_distance(a, b) for a, b in itertools.combinations(hashes, 2)]

    assert min(distances) > NEAR_DUPLICATE_MAX_DISTANCE


def test_distance_is_zero_to_itself_and_symmetric(lesion_like) -> None:
    a, b = perceptual_hash(lesion_like(seed=1)), perceptual_hash(lesion_like(seed=2))

    assert hamming_distance(a, a) == 0
    assert hamming_distance(a, b) == hamming_distance(b, a) > 0


def test_distance_compares_hashes_in_their_closest_orientation() -> None:
    # 0x00..0 and 0xff..f differ in all 64 bits, but mirroring flips 32 of them.
    assert hamming_distance("0" * 16, "f" * 16) == 32
    assert hamming_distance("0" * 16, "0" * 15 + "7") == 3


@pytest.mark.parametrize("bad", ["", "abc", "0" * 17, "0x" + "0" * 14, "g" * 16, " " + "0" * 15])
def test_distance_rejects_malformed_hashes(bad: str) -> None:
    with pytest.raises(ValueError, match="perceptual hash"):
        hamming_distance(bad, "0" * 16)
