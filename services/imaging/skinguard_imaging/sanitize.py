"""The bytes we store: pixels and colour information only, with the EXIF orientation applied.

Metadata (EXIF with GPS and camera serials, XMP, IPTC, comments, text chunks, thumbnails,
extra MPO frames, data after the end of the image) is removed by rewriting the container,
which keeps the compressed pixel data bit for bit. Only an image whose EXIF orientation
would rotate or flip it is decoded, transposed and re-encoded.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

from PIL import ExifTags, Image, ImageOps, JpegImagePlugin

from skinguard_contracts.errors import UnsupportedMediaType

from .formats import (
    PNG_SIGNATURE,
    ImageFormat,
    corrupt_image,
    reading_untrusted_image,
    sniff_format,
)

# EXIF orientations 2..8 flip and/or rotate; 1 (or none) is already upright.
_TRANSPOSING_ORIENTATIONS = range(2, 9)
_REENCODED_JPEG_QUALITY = 95

_PNG_CRITICAL_CHUNKS = b"IHDR PLTE IDAT IEND".split()
_PNG_COLOUR_CHUNKS = b"tRNS iCCP sRGB gAMA cHRM cICP sBIT pHYs bKGD".split()  # and transparency
_PNG_KEPT_CHUNKS = frozenset(_PNG_CRITICAL_CHUNKS + _PNG_COLOUR_CHUNKS)

_JPEG_SOI, _JPEG_EOI, _JPEG_SOS = 0xD8, 0xD9, 0xDA
_JPEG_APP0, _JPEG_APP2, _JPEG_APP14, _JPEG_COM = 0xE0, 0xE2, 0xEE, 0xFE
_JPEG_APPN = range(0xE0, 0xF0)
# Markers that stand alone, without a length field: TEM and RST0..RST7.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# Inside entropy-coded data 0xFF is followed by 0x00 (stuffing), RSTn or fill bytes;
# anything else starts the next marker segment.
_JPEG_MARKER_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def sanitize_image(data: bytes) -> bytes:
    """Return the metadata-free, upright version of a JPEG or PNG.

    Raises ``corrupt_image`` for a file that cannot be read. Call it on files whose size
    ``prepare_image`` has checked: an orientation other than 1 decodes every pixel.
    """
    image_format = sniff_format(data)
    if image_format is None:
        raise UnsupportedMediaType("Only JPEG and PNG images can be sanitized.", code="unsupported_format")
    with reading_untrusted_image():
        upright = _apply_orientation(data, image_format)
    # Re-encoded images pass the same filter: Pillow may copy metadata such as a JPEG comment.
    if image_format == "jpeg":
        return _strip_jpeg(upright)
    return _strip_png(upright)


def _apply_orientation(data: bytes, image_format: ImageFormat) -> bytes:
    with Image.open(io.BytesIO(data), formats=[image_format.upper()]) as image:
        # Pillow reads the orientation from EXIF (or XMP), as exif_transpose does.
        if image.getexif().get(ExifTags.Base.Orientation, 1) not in _TRANSPOSING_ORIENTATIONS:
            return data
        upright = ImageOps.exif_transpose(image)
        buffer = io.BytesIO()
        if image_format == "jpeg":
            upright.save(
                buffer,
                "JPEG",
                quality=_REENCODED_JPEG_QUALITY,
                subsampling=JpegImagePlugin.get_sampling(image),  # -1: Pillow's default
                icc_profile=image.info.get("icc_profile"),
            )
        else:
            # The ICC profile and transparency carry over from image.info.
            upright.save(buffer, "PNG")
        return buffer.getvalue()


def _strip_jpeg(data: bytes) -> bytes:
    segments = _jpeg_segments(data)
    return b"".join(segment for marker, segment in segments if _keep_jpeg_segment(marker, segment))


def _keep_jpeg_segment(marker: int, segment: bytes) -> bool:
    payload = segment[4:]
    if marker == _JPEG_APP0:
        # A JFIF header without an embedded thumbnail (a JFIF thumbnail or a JFXX segment).
        return payload.startswith(b"JFIF\0") and payload[12:14] == b"\0\0"
    if marker == _JPEG_APP2:
        return payload.startswith(b"ICC_PROFILE\0")
    if marker == _JPEG_APP14:
        return payload.startswith(b"Adobe")  # the colour transform flag for YCCK/CMYK
    return marker != _JPEG_COM and marker not in _JPEG_APPN


def _jpeg_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield ``(marker, raw bytes)`` from SOI to EOI.

    A scan's entropy-coded data belongs to its SOS segment; bytes after EOI are ignored.
    """
    yield _JPEG_SOI, data[:2]
    position = 2
    while True:
        # Like libjpeg, skip stray bytes and fill bytes (0xFF) before a marker.
        position = data.find(b"\xff", position)
        while 0 <= position < len(data) - 1 and data[position + 1] == 0xFF:
            position += 1
        if position < 0 or position + 1 >= len(data):
            raise corrupt_image()
        marker = data[position + 1]
        if marker == _JPEG_EOI:
            yield marker, data[position : position + 2]
            return
        if marker in _JPEG_STANDALONE:
            end = position + 2
        else:
            length = int.from_bytes(data[position + 2 : position + 4], "big")
            end = position + 2 + length
            if length < 2 or end > len(data):
                raise corrupt_image()
            if marker == _JPEG_SOS:
                next_marker = _JPEG_MARKER_AFTER_SCAN.search(data, end)
                if next_marker is None:
                    raise corrupt_image()
                end = next_marker.start()
        yield marker, data[position:end]
        position = end


def _strip_png(data: bytes) -> bytes:
    kept = (chunk for kind, chunk in _png_chunks(data) if kind in _PNG_KEPT_CHUNKS)
    return PNG_SIGNATURE + b"".join(kept)


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Yield ``(chunk type, raw chunk bytes)`` up to and including IEND; later bytes are ignored."""
    position = len(PNG_SIGNATURE)
    while position + 12 <= len(data):  # length, type and CRC take 12 bytes
        end = position + 12 + int.from_bytes(data[position : position + 4], "big")
        if end > len(data):
            raise corrupt_image()
        kind = data[position + 4 : position + 8]
        yield kind, data[position:end]
        if kind == b"IEND":
            return
        position = end
    raise corrupt_image()
