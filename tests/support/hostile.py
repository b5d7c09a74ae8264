"""A corpus of hostile and damaged image files, generated (never stored), for the intake tests
and the fuzz suite: each is a real attack or a real kind of damage seen in the field."""

from __future__ import annotations

import random
import struct
import zlib
from collections.abc import Callable

from PIL import Image

from . import images


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """``(marker, offset, length)`` of each segment up to and including SOS."""
    position, found = 2, []
    while position + 4 <= len(data):
        marker = data[position + 1]
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        found.append((marker, position, length))
        if marker == 0xDA:
            break
        position += 2 + length
    return found


def _entropy_start(data: bytes) -> int:
    _, offset, length = next(s for s in jpeg_segments(data) if s[0] == 0xDA)
    return offset + 2 + length


def jpeg_claiming(width: int, height: int) -> bytes:
    """A 300x300 JPEG whose frame header says ``width`` x ``height``."""
    data = bytearray(images.jpeg(300, 300, seed=11))
    for marker, offset, _ in jpeg_segments(bytes(data)):
        if marker in (0xC0, 0xC2):
            data[offset + 5 : offset + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def jpeg_entropy_all_ff() -> bytes:
    data = bytearray(images.jpeg(300, 300, seed=12))
    start = _entropy_start(bytes(data))
    data[start:-2] = b"\xff" * (len(data) - 2 - start)
    return bytes(data)


def jpeg_random_huffman_tables() -> bytes:
    data = bytearray(images.jpeg(300, 300, seed=13))
    rng = random.Random(1)
    for marker, offset, length in jpeg_segments(bytes(data)):
        if marker == 0xC4:
            for index in range(offset + 4 + 17, offset + 2 + length):
                data[index] = rng.randrange(256)
    return bytes(data)


def jpeg_zeroed_run() -> bytes:
    data = bytearray(images.jpeg(300, 300, seed=14))
    start = _entropy_start(bytes(data))
    data[start + 100 : start + 400] = bytes(300)
    return bytes(data)


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    position, chunks = 8, []
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        chunks.append((data[position + 4 : position + 8], data[position + 8 : position + 8 + length]))
        position += 12 + length
    return chunks


def png_from_chunks(chunks: list[tuple[bytes, bytes]], *, bad_crc: bytes | None = None) -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, body in chunks:
        crc = zlib.crc32(kind + body) ^ (0xFFFFFFFF if kind == bad_crc else 0)
        out += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
    return out


def _png_base() -> list[tuple[bytes, bytes]]:
    return png_chunks(images.png(256, 256, seed=15))


def png_bad_idat_crc() -> bytes:
    return png_from_chunks(_png_base(), bad_crc=b"IDAT")


def png_two_headers() -> bytes:
    chunks = _png_base()
    other = struct.pack(">IIBBBBB", 6000, 6000, 8, 2, 0, 0, 0)
    return png_from_chunks([chunks[0], (b"IHDR", other), *chunks[1:]])


def png_compression_method(method: int) -> bytes:
    chunks = _png_base()
    header = bytearray(chunks[0][1])
    header[10] = method
    return png_from_chunks([(b"IHDR", bytes(header)), *chunks[1:]])


def png_trns_longer_than_palette() -> bytes:
    palette = images.lesion_like(256, 256, seed=16).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    chunks = [chunk for chunk in png_chunks(images.encode(palette, "PNG")) if chunk[0] != b"tRNS"]
    at = next(index for index, (kind, _) in enumerate(chunks) if kind == b"PLTE") + 1
    return png_from_chunks([*chunks[:at], (b"tRNS", bytes(range(40))), *chunks[at:]])


def png_with_zip_appended() -> bytes:
    """A polyglot: a valid PNG that is also a ZIP archive."""
    return images.png(256, 256, seed=17) + b"PK\x03\x04" + bytes(26) + b"payload"


def png_idat_cut_short() -> bytes:
    chunks = _png_base()
    cut = [(kind, body[: len(body) // 2] if kind == b"IDAT" else body) for kind, body in chunks]
    return png_from_chunks(cut)


def png_declaring_more_rows() -> bytes:
    """The header promises 6000 rows; the stream holds 256."""
    chunks = _png_base()
    header = bytearray(chunks[0][1])
    header[4:8] = struct.pack(">I", 6000)
    return png_from_chunks([(b"IHDR", bytes(header)), *chunks[1:]])


# Damaged files that decoders used to "recover": each must be refused as corrupt_image.
DAMAGED: dict[str, Callable[[], bytes]] = {
    "jpeg claiming 6000x6000": lambda: jpeg_claiming(6000, 6000),
    "jpeg entropy data all 0xFF": jpeg_entropy_all_ff,
    "jpeg random huffman tables": jpeg_random_huffman_tables,
    "jpeg zeroed entropy run": jpeg_zeroed_run,
    "png bad IDAT crc": png_bad_idat_crc,
    "png two IHDR": png_two_headers,
    "png compression method 1": lambda: png_compression_method(1),
    "png tRNS longer than palette": png_trns_longer_than_palette,
    "png with a zip appended": png_with_zip_appended,
    "png IDAT cut short": png_idat_cut_short,
    "png declaring more rows": png_declaring_more_rows,
}


def truncations(data: bytes, cuts: int = 24) -> list[bytes]:
    """``data`` cut at evenly spread points (past the signature)."""
    return [data[:cut] for cut in sorted({8 + (len(data) - 9) * k // cuts for k in range(cuts)})]


def jpeg_with_app1(payload: bytes) -> bytes:
    """A good JPEG with ``payload`` as its APP1 (EXIF) segment."""
    data = images.jpeg(300, 300, seed=18)
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + segment + data[2:]


def exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return images.encode(images.lesion_like(300, 300, seed=19), "JPEG", exif=exif)


# Odd but not damaged pixel data: stored whole or refused cleanly, never a 500.
ODD_METADATA: dict[str, Callable[[], bytes]] = {
    "exif orientation 99": lambda: exif_orientation(99),
    "exif orientation 0": lambda: exif_orientation(0),
    "exif ifd offset beyond the segment": lambda: jpeg_with_app1(b"Exif\x00\x00II*\x00\xff\xff\xff\x7f"),
    "exif ifd with 65535 entries": lambda: jpeg_with_app1(b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff" + bytes(40)),
    "exif truncated header": lambda: jpeg_with_app1(b"Exif\x00\x00II"),
    "exif not tiff": lambda: jpeg_with_app1(b"Exif\x00\x00" + bytes(range(200))),
}
