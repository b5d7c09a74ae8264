"""Strict integrity checks: damaged photos are refused, never "recovered" with grey filler.

Pillow and OpenCV decode damaged files silently (libjpeg fills missing data with grey and only
warns; CRC and zlib errors in PNGs go unnoticed), so a photo with an edited header or a broken
stream would be stored and classified. Here every such defect is ``corrupt_image`` (422):

- JPEG: decoded by libjpeg-turbo (``simplejpeg``) with ``strict=True``, which turns every
  decoder warning (premature end of data, corrupt data, bogus tables) into an error; at 1/8
  scale, since the entropy-coded data is read in full either way.
- PNG: written by hand because no library validates without decoding everything at full size
  in Python: every chunk's CRC, one IHDR first with a legal header, PLTE and tRNS consistent
  with it, contiguous IDATs, IEND last with nothing after it, and a zlib stream that ends
  exactly where the pixel data of the declared size does (streamed, so memory stays bounded).
"""

from __future__ import annotations

import struct
import zlib

import simplejpeg

from .formats import PNG_SIGNATURE, ImageFormat, corrupt_image

# PNG colour type -> (channels, allowed bit depths)
_PNG_COLOUR_TYPES = {0: (1, {1, 2, 4, 8, 16}), 2: (3, {8, 16}), 3: (1, {1, 2, 4, 8}), 4: (2, {8, 16}), 6: (4, {8, 16})}
_TRNS_LENGTH = {0: 2, 2: 6}  # colour type 3: at most one entry per palette colour; 4 and 6: none
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_ZLIB_PIECE = 1 << 20


def check_integrity(data: bytes, image_format: ImageFormat) -> None:
    """Raise ``corrupt_image`` unless every byte of the pixel data is present and well formed."""
    if image_format == "jpeg":
        _check_jpeg(data)
    else:
        _check_png(data)


def _check_jpeg(data: bytes) -> None:
    try:
        colorspace = simplejpeg.decode_jpeg_header(data)[2]
        target = {"Gray": "GRAY", "CMYK": "CMYK"}.get(colorspace, "RGB")
        # min_height/min_width of 1: the largest DCT scaling (1/8); every entropy-coded byte is read anyway.
        simplejpeg.decode_jpeg(data, colorspace=target, min_height=1, min_width=1, strict=True)
    except (ValueError, RuntimeError, TypeError) as error:
        raise corrupt_image() from error


def _check_png(data: bytes) -> None:
    header: tuple[int, ...] | None = None
    palette_entries = 0
    idat_seen = idat_ended = False
    decompressor = zlib.decompressobj()
    decompressed = 0
    expected = 0
    position = len(PNG_SIGNATURE)
    while True:
        if position + 12 > len(data):
            raise corrupt_image()  # no IEND: truncated
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 12 + length
        if length > 2**31 - 1 or end > len(data) or not kind.isalpha():
            raise corrupt_image()
        body = data[position + 8 : end - 4]
        if zlib.crc32(kind + body) != int.from_bytes(data[end - 4 : end], "big"):
            raise corrupt_image()
        if header is None and kind != b"IHDR":
            raise corrupt_image()
        if kind == b"IHDR":
            if header is not None or length != 13:
                raise corrupt_image()  # a second header, or a malformed one
            header = struct.unpack(">IIBBBBB", body)
            expected = _raw_size(header)
        elif kind == b"PLTE":
            if idat_seen or palette_entries or length % 3 or not 0 < length <= 768:
                raise corrupt_image()
            palette_entries = length // 3
        elif kind == b"tRNS":
            assert header is not None
            colour_type = header[3]
            allowed = palette_entries if colour_type == 3 else _TRNS_LENGTH.get(colour_type, -1)
            if idat_seen or (length > allowed if colour_type == 3 else length != allowed):
                raise corrupt_image()
        elif kind == b"IDAT":
            if idat_ended:
                raise corrupt_image()  # IDATs must be consecutive
            idat_seen = True
            decompressed += _inflate(decompressor, body, expected - decompressed)
        elif idat_seen:
            idat_ended = True
        if kind == b"IEND":
            break
        position = end
    assert header is not None
    if header[3] == 3 and not palette_entries:
        raise corrupt_image()
    if end != len(data) or not decompressor.eof or decompressor.unused_data or decompressed != expected:
        raise corrupt_image()  # bytes after IEND, a cut or overlong stream, or the wrong pixel count


def _raw_size(header: tuple[int, ...]) -> int:
    """Bytes of filtered pixel data the header promises (a filter byte per row, per pass)."""
    width, height, depth, colour_type, compression, filtering, interlace = header
    if colour_type not in _PNG_COLOUR_TYPES or width == 0 or height == 0:
        raise corrupt_image()
    channels, depths = _PNG_COLOUR_TYPES[colour_type]
    if depth not in depths or compression != 0 or filtering != 0 or interlace not in (0, 1):
        raise corrupt_image()
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    total = 0
    for x0, y0, dx, dy in passes:
        columns = (width - x0 + dx - 1) // dx if width > x0 else 0
        rows = (height - y0 + dy - 1) // dy if height > y0 else 0
        if columns and rows:
            total += rows * (1 + (columns * channels * depth + 7) // 8)
    return total


def _inflate(decompressor, body: bytes, room: int) -> int:
    """Feed ``body`` to the stream, counting its output, never holding more than a piece of it."""
    produced = 0
    pending = body
    try:
        while pending and not decompressor.eof:
            produced += len(decompressor.decompress(pending, _ZLIB_PIECE))
            pending = decompressor.unconsumed_tail
            if produced > room:
                raise corrupt_image()  # more pixel data than the header declares
        if pending:
            raise corrupt_image()  # data after the end of the stream
    except zlib.error as error:
        raise corrupt_image() from error
    return produced
