from __future__ import annotations

import io
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from skinguard_contracts.errors import Invalid
from skinguard_imaging import to_model_input

Encode = Callable[..., bytes]


def test_jpeg_and_png_become_square_rgb_uint8(lesion_like: Callable[..., np.ndarray], encode: Encode) -> None:
    image = Image.fromarray(lesion_like(1, size=(320, 240)))
    for data in (encode(image, "JPEG", quality=90), encode(image, "PNG")):
        pixels = to_model_input(data, 96)
        assert pixels.shape == (96, 96, 3)
        assert pixels.dtype == np.uint8
        assert pixels.flags.c_contiguous


def test_an_image_already_at_the_size_is_unchanged(lesion_like: Callable[..., np.ndarray], encode: Encode) -> None:
    pixels = lesion_like(2, size=(64, 64))
    assert np.array_equal(to_model_input(encode(Image.fromarray(pixels), "PNG"), 64), pixels)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_pillow_does(
    orientation: int, lesion_like: Callable[..., np.ndarray], encode: Encode
) -> None:
    stored = Image.fromarray(lesion_like(3, size=(60, 40)))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "PNG", exif=exif)

    with Image.open(io.BytesIO(data)) as image:
        upright = np.array(ImageOps.exif_transpose(image).convert("RGB"))
    expected = cv2.resize(upright, (32, 32), interpolation=cv2.INTER_AREA)

    assert np.array_equal(to_model_input(data, 32), expected)


def test_shrinking_averages_pixel_areas_so_fine_detail_does_not_alias(encode: Encode) -> None:
    checkerboard = (np.indices((64, 64)).sum(axis=0) % 2 * 255).astype(np.uint8)
    data = encode(Image.fromarray(np.dstack([checkerboard] * 3)), "PNG")
    assert np.all(np.abs(to_model_input(data, 32).astype(int) - 128) <= 1)


def test_enlarging_interpolates_linearly(lesion_like: Callable[..., np.ndarray], encode: Encode) -> None:
    small = lesion_like(4, size=(40, 30))
    expected = cv2.resize(small, (64, 64), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(to_model_input(encode(Image.fromarray(small), "PNG"), 64), expected)


def test_transparency_is_composited_onto_white(encode: Encode) -> None:
    clear = Image.new("RGBA", (40, 40), (255, 0, 0, 0))
    assert np.all(to_model_input(encode(clear, "PNG"), 32) == 255)


def test_unreadable_bytes_are_a_corrupt_image() -> None:
    with pytest.raises(Invalid) as raised:
        to_model_input(b"\xff\xd8\xff\xe0 not really a jpeg", 32)
    assert raised.value.code == "corrupt_image"
