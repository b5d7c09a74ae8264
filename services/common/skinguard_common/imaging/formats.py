"""The image container formats we accept, recognised by their magic bytes."""

from __future__ import annotations

from typing import Literal

from ..errors import Invalid

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
