from __future__ import annotations

import pytest

from skinguard_imaging import MEDIA_TYPES, sniff_format


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "jpeg"),
        (b"\xff\xd8\xff\xdb", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"", None),
        (b"\xff\xd8", None),  # too short to be sure
        (b"\x89PNG\r\n\x1a", None),
        (b"GIF89a", None),
        (b"BM6\x00\x00\x00", None),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", None),
        (b"\x00\x00\x00\x18ftypheic", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"photo.jpg", None),  # a name is not content
    ],
)
def test_sniff_format_reads_magic_bytes_only(data: bytes, expected: str | None) -> None:
    assert sniff_format(data) == expected


def test_media_types() -> None:
    assert MEDIA_TYPES == {"jpeg": "image/jpeg", "png": "image/png"}
