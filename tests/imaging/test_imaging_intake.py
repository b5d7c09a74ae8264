from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageFile

from skinguard_contracts.errors import AppError
from skinguard_imaging import (
    ImageLimits,
    decode_rgb,
    measure_quality,
    perceptual_hash,
    prepare_image,
    sniff_format,
)
from support.images import lesion_like

LIMITS = ImageLimits()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _handmade_png(width: int, height: int, *, bit_depth: int = 8, colour_type: int = 2) -> bytes:
    """A PNG whose header claims any size; the pixel data is a few bytes, never decoded."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _sixteen_bit_png(width: int, height: int, colour_type: int, sample: int) -> bytes:
    """A flat 16-bit PNG: every colour sample is ``sample``, alpha (if any) fully opaque."""
    colours, alphas = {0: (1, 0), 2: (3, 0), 4: (1, 1), 6: (3, 1)}[colour_type]
    pixel = struct.pack(">H", sample) * colours + b"\xff\xff" * alphas
    row = b"\x00" + pixel * width  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(row * height))
        + _png_chunk(b"IEND", b"")
    )


def _with_jpeg_size(jpeg: bytes, width: int, height: int) -> bytes:
    """Rewrite the frame header (SOF0) to claim another size."""
    frame = jpeg.index(b"\xff\xc0")
    return jpeg[: frame + 5] + struct.pack(">HH", height, width) + jpeg[frame + 9 :]


def _rejection(data: bytes, limits: ImageLimits = LIMITS) -> AppError:
    with pytest.raises(AppError) as raised:
        prepare_image(data, limits)
    return raised.value


@pytest.fixture
def photo(lesion_like) -> Image.Image:
    return Image.fromarray(lesion_like(seed=11, size=(256, 240)))


def test_truncated_images_are_never_loaded_silently() -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_empty_file() -> None:
    error = _rejection(b"")

    assert (error.status_code, error.code) == (422, "empty_file")


def test_file_too_large_is_checked_before_the_format(encode, photo) -> None:
    jpeg = encode(photo, "JPEG")

    error = _rejection(jpeg, ImageLimits(max_bytes=len(jpeg) - 1))
    not_an_image = _rejection(b"GIF89a" + b"\x00" * 100, ImageLimits(max_bytes=50))

    assert (error.status_code, error.code) == (413, "file_too_large")
    assert (not_an_image.status_code, not_an_image.code) == (413, "file_too_large")
    assert prepare_image(jpeg, ImageLimits(max_bytes=len(jpeg))).format == "jpeg"


@pytest.mark.parametrize("pillow_format", ["GIF", "BMP", "TIFF", "WEBP"])
def test_other_image_formats_are_unsupported(encode, photo, pillow_format: str) -> None:
    error = _rejection(encode(photo, pillow_format))

    assert (error.status_code, error.code) == (415, "unsupported_format")
    assert "JPEG and PNG" in error.message


@pytest.mark.parametrize("data", [b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, b"%PDF-1.7\n", b"hello world"])
def test_non_images_are_unsupported(data: bytes) -> None:
    error = _rejection(data)

    assert (error.status_code, error.code) == (415, "unsupported_format")


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", b"\x00" * 5),
        b"\xff\xd8\xff\xe0" + b"\x00" * 40,
        b"\xff\xd8\xff",
    ],
    ids=["png zeros", "png short header", "jpeg zeros", "jpeg signature only"],
)
def test_unreadable_headers_are_corrupt(data: bytes) -> None:
    error = _rejection(data)

    assert (error.status_code, error.code) == (422, "corrupt_image")


@pytest.mark.parametrize(
    ("width", "height"),
    [(20_000, 20_000), (10_000, 10_000), (7_000, 7_000)],
    ids=["past Pillow's bomb error", "past Pillow's bomb warning", "past our limit only"],
)
def test_png_header_bomb_is_rejected_before_decoding(width: int, height: int) -> None:
    bomb = _handmade_png(width, height)
    assert len(bomb) < 100

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        error = _rejection(bomb)

    assert (error.status_code, error.code) == (422, "too_many_pixels")
    assert "40 megapixels" in error.message


def test_pillow_bomb_warning_raised_as_error_is_still_a_client_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        error = _rejection(_handmade_png(10_000, 10_000))

    assert (error.status_code, error.code) == (422, "too_many_pixels")


@pytest.mark.parametrize(("width", "height"), [(30_000, 30_000), (8_000, 6_000)])
def test_jpeg_header_bomb_is_rejected_before_decoding(encode, photo, width, height) -> None:
    error = _rejection(_with_jpeg_size(encode(photo, "JPEG"), width, height))

    assert (error.status_code, error.code) == (422, "too_many_pixels")


def test_pixel_limit_is_configurable(encode, photo) -> None:
    error = _rejection(encode(photo, "PNG"), ImageLimits(max_pixels=256 * 240 - 1))

    assert (error.status_code, error.code) == (422, "too_many_pixels")


def test_animated_png_is_rejected(encode, photo) -> None:
    animated = encode(photo, "PNG", save_all=True, append_images=[photo.rotate(90)])

    error = _rejection(animated)

    assert (error.status_code, error.code) == (415, "unsupported_format")  # as the README says
    assert error.message.startswith("Animated images are not accepted")


@pytest.mark.parametrize(
    ("pillow_format", "options", "cut"),
    [
        ("JPEG", {}, lambda data: data[: len(data) // 2]),
        ("JPEG", {}, lambda data: data[:-2]),  # only the end-of-image marker is missing
        ("JPEG", {"progressive": True}, lambda data: data[: len(data) // 2]),
        ("PNG", {}, lambda data: data[: len(data) // 2]),  # inside the pixel data
        ("PNG", {}, lambda data: data[:-20]),  # pixels complete, checksum and IEND missing
    ],
    ids=["jpeg half", "jpeg no EOI", "progressive jpeg half", "png half", "png tail"],
)
def test_truncated_images_are_corrupt(encode, photo, pillow_format, options, cut) -> None:
    error = _rejection(cut(encode(photo, pillow_format, **options)))

    assert (error.status_code, error.code) == (422, "corrupt_image")


def test_too_small_reports_the_actual_size(encode) -> None:
    error = _rejection(encode(Image.new("RGB", (100, 80), "tan"), "PNG"))

    assert (error.status_code, error.code) == (422, "too_small")
    assert "100x80" in error.message
    assert "224x224" in error.message


def test_minimum_size_applies_to_the_upright_image(encode) -> None:
    landscape = lesion_like(300, 230, seed=5)
    limits = ImageLimits(min_width=250, min_height=224)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # displayed as a 230x300 portrait

    assert prepare_image(encode(landscape, "JPEG"), limits).width == 300
    error = _rejection(encode(landscape, "JPEG", exif=exif), limits)
    assert (error.code, "230x300" in error.message) == ("too_small", True)


def _check_prepared(data: bytes, image_format: str, size: tuple[int, int]) -> np.ndarray:
    prepared = prepare_image(data, LIMITS)
    pixels = decode_rgb(prepared.stored_bytes)

    assert (prepared.format, prepared.media_type) == (image_format, f"image/{image_format}")
    assert sniff_format(prepared.stored_bytes) == image_format
    assert (prepared.width, prepared.height) == size
    assert pixels.shape == (size[1], size[0], 3) and pixels.dtype == np.uint8
    assert prepared.sha256 == hashlib.sha256(prepared.stored_bytes).hexdigest()
    assert prepared.phash == perceptual_hash(pixels)
    assert prepared.quality == measure_quality(pixels, file_size=len(prepared.stored_bytes))
    return pixels


@pytest.mark.parametrize(
    ("pillow_format", "mode", "options"),
    [
        ("JPEG", "RGB", {"quality": 90}),
        ("JPEG", "L", {}),
        ("JPEG", "CMYK", {}),
        ("PNG", "RGB", {}),
        ("PNG", "RGBA", {}),
        ("PNG", "LA", {}),
        ("PNG", "L", {}),
        ("PNG", "1", {}),
        ("PNG", "P", {}),
        ("PNG", "P", {"transparency": 0}),
        ("PNG", "I;16", {}),
    ],
)
def test_accepted_modes(encode, photo, pillow_format: str, mode: str, options: dict) -> None:
    if mode == "I;16":  # spread over the full 16-bit range, as cameras and scanners do
        image = Image.fromarray(np.asarray(photo.convert("L")).astype(np.uint16) * 257)
    else:
        image = photo.quantize(32) if mode == "P" else photo.convert(mode)

    _check_prepared(encode(image, pillow_format, **options), pillow_format.lower(), (256, 240))


@pytest.mark.parametrize("colour_type", [0, 2, 4, 6], ids=["grey", "rgb", "grey+alpha", "rgba"])
def test_sixteen_bit_png_keeps_the_high_byte(colour_type: int) -> None:
    pixels = decode_rgb(_sixteen_bit_png(240, 230, colour_type, 0x1234))  # one flat colour: decoding only

    assert pixels.shape == (230, 240, 3) and np.all(pixels == 0x12)


def test_transparent_pixels_become_white(encode) -> None:
    clear = np.zeros((230, 230, 4), np.uint8)
    clear[:, :115, 3] = 255  # left half opaque black, right half fully transparent black

    pixels = decode_rgb(encode(Image.fromarray(clear), "PNG"))  # two flat halves: decoding only

    assert np.all(pixels[:, :115] == 0) and np.all(pixels[:, 115:] == 255)


def test_stored_bytes_are_sanitized_and_upright(encode, photo) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 8
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)

    prepared = prepare_image(encode(photo, "JPEG", exif=exif, comment=b"secret"), LIMITS)

    assert (prepared.width, prepared.height) == (240, 256)
    with Image.open(io.BytesIO(prepared.stored_bytes)) as stored:
        assert not stored.getexif() and "comment" not in stored.info
    assert "stored_bytes" not in repr(prepared)


def test_mpo_photo_is_stored_as_its_primary_jpeg(encode, photo) -> None:
    mpo = encode(photo, "MPO", save_all=True, append_images=[photo.rotate(180)])

    prepared = prepare_image(mpo, LIMITS)

    with Image.open(io.BytesIO(prepared.stored_bytes)) as stored:
        assert stored.format == "JPEG" and getattr(stored, "n_frames", 1) == 1
    with Image.open(io.BytesIO(mpo)) as original:
        np.testing.assert_array_equal(decode_rgb(prepared.stored_bytes), np.asarray(original))


def test_real_photos_are_accepted(kaggle_jpegs: list[Path]) -> None:
    for path in kaggle_jpegs[:5]:
        _check_prepared(path.read_bytes(), "jpeg", (224, 224))


def test_real_ham10000_photos_are_below_the_default_minimum(ham_jpegs: list[Path]) -> None:
    data = ham_jpegs[0].read_bytes()

    error = _rejection(data)

    assert (error.code, "200x150" in error.message) == ("too_small", True)
    assert prepare_image(data, ImageLimits(min_width=150, min_height=150)).width == 200
