"""The image container formats we accept: recognising them, and reporting unreadable ones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from PIL import Image

from skinguard_contracts.errors import AppError, Invalid

ImageFormat = Literal["jpeg", "png"]

MEDIA_TYPES: dict[ImageFormat, str] = {"jpeg": "image/jpeg", "png": "image/png"}

JPEG_SIGNATURE = b"\xff\xd8\xff"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def sniff_format(data: bytes) -> ImageFormat | None:
    """Name the format from the leading bytes alone, never from a file name or declared type."""
    if data.startswith(JPEG_SIGNATURE):
        return "jpeg"
    if data.startswith(PNG_SIGNATURE):
        return "png"
    return None


def corrupt_image() -> Invalid:
    """The error for bytes that claim to be a JPEG or PNG but cannot be read."""
    return Invalid(
        "The image could not be read: the file is damaged or was only partly uploaded. "
        "Upload the original photo again.",
        code="corrupt_image",
    )


@contextmanager
def reading_untrusted_image() -> Iterator[None]:
    """Report whatever Pillow raises on a malformed file as ``corrupt_image``.

    Pillow's decompression-bomb guard passes through: it means too many pixels, not damage.
    """
    try:
        yield
    except (AppError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise
    except Exception as error:  # Pillow raises many exception types on malformed files
        raise corrupt_image() from error
