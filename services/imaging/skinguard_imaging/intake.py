"""Upload intake: validate an uploaded photo and prepare what we store about it."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from skinguard_contracts.errors import Invalid, PayloadTooLarge, UnsupportedMediaType

from .content import check_content
from .formats import MEDIA_TYPES, ImageFormat, reading_untrusted_image, sniff_format
from .integrity import check_integrity
from .memory import DECODE_BUDGET
from .phash import perceptual_hash
from .quality import QualityMetrics, measure_quality
from .sanitize import sanitize_image

_MIB = 1024 * 1024
_WHITE = (255, 255, 255, 255)
CHECK_MAX_SIDE = 1024  # quality metrics, perceptual hash and content check read at most this
_DECODE_BYTES_PER_PIXEL = 16  # decoded bands, the RGB conversion, the array and the checks' copies


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_bytes: int = 10 * _MIB
    min_width: int = 224
    min_height: int = 224
    max_pixels: int = 40_000_000


@dataclass(frozen=True, slots=True)
class PreparedImage:
    stored_bytes: bytes = field(repr=False)  # sanitized: no metadata, orientation applied
    format: ImageFormat
    media_type: str
    width: int  # of the upright image
    height: int
    sha256: str  # hex digest of stored_bytes
    phash: str
    quality: QualityMetrics


def prepare_image(data: bytes, limits: ImageLimits) -> PreparedImage:
    """Validate an upload and return its sanitized bytes with hashes and quality metrics.

    Raises, in this order of checks: ``empty_file`` (422), ``file_too_large`` (413),
    ``unsupported_format`` (415), ``corrupt_image`` (422, unreadable header),
    ``too_many_pixels`` (422, checked before any pixel is decoded), ``unsupported_format``
    (415, animated PNG), ``corrupt_image`` (422, damaged or truncated pixel data: any decoder
    warning, CRC or zlib error, ``integrity``) and
    ``too_small`` (422, judged on the upright image), ``mostly_uniform`` (422, mostly filler:
    ``content``).
    """
    if not data:
        raise Invalid(
            "The uploaded file is empty. Choose a JPEG or PNG photo and upload it again.",
            code="empty_file",
        )
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"The file is {len(data) / _MIB:.1f} MiB; the limit is {limits.max_bytes / _MIB:.1f} "
            "MiB. Export the photo at a lower resolution or with more JPEG compression.",
            code="file_too_large",
        )
    image_format = sniff_format(data)
    if image_format is None:
        raise UnsupportedMediaType(
            "Only JPEG and PNG images are accepted. Convert the photo (for example from HEIC) "
            "to JPEG and upload it again.",
            code="unsupported_format",
        )
    _check_decodes(data, image_format, limits)
    stored = sanitize_image(data)
    with reading_untrusted_image():
        with Image.open(io.BytesIO(stored), formats=["JPEG", "PNG"]) as image:
            width, height = image.size
        # The checks and metrics need no more than CHECK_MAX_SIDE: a bounded decode.
        pixels = decode_rgb(stored, max_side=CHECK_MAX_SIDE)
    if width < limits.min_width or height < limits.min_height:
        raise Invalid(
            f"The image is {width}x{height} pixels; it must be at least "
            f"{limits.min_width}x{limits.min_height}. Upload a closer or higher-resolution photo.",
            code="too_small",
        )
    check_content(pixels)
    return PreparedImage(
        stored_bytes=stored,
        format=image_format,
        media_type=MEDIA_TYPES[image_format],
        width=width,
        height=height,
        sha256=hashlib.sha256(stored).hexdigest(),
        phash=perceptual_hash(pixels),
        quality=dataclasses.replace(measure_quality(pixels, file_size=len(stored)), width=width, height=height),
    )


def decode_rgb(data: bytes, max_side: int | None = None) -> np.ndarray:
    """Decode bytes stored by ``prepare_image`` to an RGB ``uint8`` array ``(height, width, 3)``.

    The orientation is already applied to stored bytes, so none is read here. Transparent
    pixels are composited onto white; 16-bit greyscale keeps its 8 most significant bits.
    ``max_side`` bounds the longer side of the result (and the memory): a JPEG is decoded at a
    reduced DCT scale, then either format is reduced by a whole factor (box filter). Every
    decode holds its estimated memory of the shared ``DECODE_BUDGET`` while it runs.
    """
    with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as image:
        if max_side and max(image.size) > max_side and image.format == "JPEG":
            width, height = image.size
            image.draft(
                image.mode, (max(1, width * max_side // max(image.size)), max(1, height * max_side // max(image.size)))
            )
        with DECODE_BUDGET.hold(image.size[0] * image.size[1] * _DECODE_BYTES_PER_PIXEL):
            image.load()
            factor = -(-max(image.size) // max_side) if max_side else 1
            return _rgb(image.reduce(factor) if factor > 1 else image)


def _rgb(image: Image.Image) -> np.ndarray:
    if image.mode.startswith("I"):  # 16-bit greyscale PNG ("I" or "I;16"); convert() clips
        grey = (np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8)
        return np.repeat(grey[:, :, np.newaxis], 3, axis=2)
    if image.has_transparency_data:
        background = Image.new("RGBA", image.size, _WHITE)
        return np.array(Image.alpha_composite(background, image.convert("RGBA")).convert("RGB"))
    return np.array(image.convert("RGB"))


def _check_decodes(data: bytes, image_format: ImageFormat, limits: ImageLimits) -> None:
    """Read the header, enforce the pixel limit and animation ban, then decode every pixel."""
    try:
        with (
            reading_untrusted_image(),
            Image.open(io.BytesIO(data), formats=[image_format.upper()]) as image,
        ):
            width, height = image.size
            if width * height > limits.max_pixels:
                raise _too_many_pixels(limits)
            # Extra JPEG frames (MPO: HDR gain maps, depth maps, stereo pairs) belong to one
            # photo and are dropped by sanitize_image; an animated PNG is several pictures.
            if image_format == "png" and getattr(image, "is_animated", False):
                raise UnsupportedMediaType(
                    "Animated images are not accepted. Upload a single still photo.", code="unsupported_format"
                )
            check_integrity(data, image_format)  # every decoder warning, CRC or zlib error
    # Pillow's own bomb guard (its warning becomes an exception under ``-W error``).
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels(limits) from error


def _too_many_pixels(limits: ImageLimits) -> Invalid:
    return Invalid(
        f"The image has more than {limits.max_pixels / 1e6:g} megapixels. Downscale it and upload it again.",
        code="too_many_pixels",
    )
