"""Damaged photos are refused as ``corrupt_image``, never decoded into grey filler and judged."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from skinguard_contracts.errors import Invalid
from skinguard_imaging import ImageLimits, prepare_image
from support import hostile, images

LIMITS = ImageLimits(max_pixels=40_000_000)


@pytest.mark.parametrize("name", sorted(hostile.DAMAGED))
def test_a_damaged_file_is_corrupt_image(name: str) -> None:
    with pytest.raises(Invalid) as raised:
        prepare_image(hostile.DAMAGED[name](), LIMITS)
    assert (raised.value.status_code, raised.value.code) == (422, "corrupt_image"), name


@pytest.mark.parametrize("kind", ["jpeg", "png", "progressive", "palette", "grey16"])
def test_every_cut_of_a_good_file_is_refused_and_the_whole_file_accepted(kind: str) -> None:
    photo = images.lesion_like(300, 300, seed=21)
    data = {
        "jpeg": lambda: images.encode(photo, "JPEG", quality=90),
        "png": lambda: images.encode(photo, "PNG"),
        "progressive": lambda: images.encode(photo, "JPEG", quality=90, progressive=True),
        "palette": lambda: images.encode(photo.convert("P", palette=1, colors=64), "PNG", transparency=3),
        "grey16": lambda: images.encode(Image.fromarray(np.asarray(photo.convert("L")).astype(np.uint16) * 257), "PNG"),
    }[kind]()
    assert prepare_image(data, LIMITS).width == 300
    for cut in hostile.truncations(data):
        with pytest.raises(Invalid) as raised:
            prepare_image(cut, LIMITS)
        assert raised.value.code == "corrupt_image", (kind, len(cut), len(data))


def _adam7_png(width: int, height: int, extra: bytes = b"") -> bytes:
    """An interlaced (Adam7) RGB PNG made by hand: no encoder at hand writes one."""
    raw = b""
    for x0, y0, dx, dy in (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ):
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            raw += (b"\x00" + bytes(range(256)) * (3 * columns // 256) + bytes(3 * columns % 256)) * rows
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return hostile.png_from_chunks([(b"IHDR", header), (b"IDAT", zlib.compress(raw + extra)), (b"IEND", b"")])


def test_an_interlaced_png_is_measured_by_its_seven_passes() -> None:
    assert prepare_image(_adam7_png(250, 233), LIMITS).height == 233
    with pytest.raises(Invalid, match="could not be read"):
        prepare_image(_adam7_png(250, 233, extra=b"\x00"), LIMITS)


def test_a_greyscale_and_a_cmyk_jpeg_pass_the_strict_decoder() -> None:
    photo = images.lesion_like(256, 256, seed=22)
    for mode in ("L", "CMYK"):
        assert prepare_image(images.encode(photo.convert(mode), "JPEG"), LIMITS).width == 256


def test_a_photo_that_is_mostly_filler_is_not_judged() -> None:
    """What decoders used to make of a damaged file: a strip of photo, the rest flat grey."""
    pixels = np.asarray(images.lesion_like(400, 400, seed=23)).copy()
    pixels[120:] = 128
    with pytest.raises(Invalid) as raised:
        prepare_image(images.encode(Image.fromarray(pixels), "PNG"), LIMITS)
    assert (raised.value.status_code, raised.value.code) == (422, "mostly_uniform")
    assert "flat colour" in raised.value.message


def test_real_photos_with_dark_vignettes_pass_the_content_check() -> None:
    pixels = np.asarray(images.lesion_like(400, 400, seed=24)).copy()
    y, x = np.mgrid[0:400, 0:400]
    pixels[(x - 200) ** 2 + (y - 200) ** 2 > 230**2] = 0  # a dermatoscope's black corners
    assert prepare_image(images.encode(Image.fromarray(pixels), "JPEG"), LIMITS).width == 400
    for path in images.real_images(count=3):
        assert prepare_image(path.read_bytes(), ImageLimits(min_width=1, min_height=1)).width > 0
