from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image, ImageCms, JpegImagePlugin
from PIL.PngImagePlugin import PngInfo

from skinguard_contracts.errors import Invalid, UnsupportedMediaType
from skinguard_imaging import sanitize_image

SECRETS = (b"SecretCam", b"SERIAL-0451", b"secret-xmp", b"secret-comment", b"secret-iptc")
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _camera_exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SecretCam"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.BodySerialNumber] = "SERIAL-0451"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 21.0, 7.0)
    return exif.tobytes()


def _with_iptc(jpeg: bytes) -> bytes:
    """Insert a Photoshop/IPTC APP13 segment after SOI."""
    payload = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0bsecret-iptc"
    return jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def _decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def _png_chunk_types(data: bytes) -> list[bytes]:
    types, position = [], 8
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        types.append(data[position + 4 : position + 8])
        position += 12 + length
    return types


def _assert_metadata_free(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
        metadata_keys = {"exif", "xmp", "comment", "photoshop", "mp", "Author", "Comment"}
        assert not metadata_keys & image.info.keys()
    for secret in (*SECRETS, b"Exif\x00\x00", b"secret-author", b"secret-private"):
        assert secret not in data


@pytest.fixture
def camera_jpeg(encode, lesion_like) -> bytes:
    image = Image.fromarray(lesion_like(seed=5))
    jpeg = encode(
        image,
        "JPEG",
        quality=90,
        exif=_camera_exif(),
        xmp=b"<x:xmpmeta><rdf:Description>secret-xmp</rdf:Description></x:xmpmeta>",
        comment=b"secret-comment",
        icc_profile=SRGB_ICC,
    )
    return _with_iptc(jpeg)


def test_jpeg_metadata_is_removed_without_touching_pixels(camera_jpeg: bytes) -> None:
    with Image.open(io.BytesIO(camera_jpeg)) as original:  # the fixture really carries it all
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert {"xmp", "comment", "photoshop"} <= original.info.keys()

    sanitized = sanitize_image(camera_jpeg)

    _assert_metadata_free(sanitized)
    np.testing.assert_array_equal(_decoded(sanitized), _decoded(camera_jpeg))
    # Entropy-coded data is copied byte for byte from the (single) scan onwards.
    scan = camera_jpeg.rindex(b"\xff\xda")
    assert sanitized.endswith(camera_jpeg[scan:])
    with Image.open(io.BytesIO(sanitized)) as image:
        assert image.info["icc_profile"] == SRGB_ICC


def test_jpeg_comment_between_progressive_scans_is_removed(encode, lesion_like) -> None:
    progressive = encode(Image.fromarray(lesion_like(seed=6)), "JPEG", progressive=True)
    second_scan = progressive.index(b"\xff\xda", progressive.index(b"\xff\xda") + 2)
    comment = b"\xff\xfe\x00\x10secret-comment"
    with_comment = progressive[:second_scan] + comment + progressive[second_scan:]

    sanitized = sanitize_image(with_comment)

    assert sanitized == progressive
    np.testing.assert_array_equal(_decoded(with_comment), _decoded(sanitized))


def test_jpeg_trailing_data_and_extra_mpo_frames_are_removed(encode, lesion_like) -> None:
    primary = Image.fromarray(lesion_like(seed=8))
    mpo = encode(primary, "MPO", save_all=True, append_images=[primary.rotate(90)])
    with Image.open(io.BytesIO(mpo)) as original:
        assert original.format == "MPO" and original.n_frames == 2

    sanitized = sanitize_image(mpo + b"secret-trailer")

    with Image.open(io.BytesIO(sanitized)) as image:
        assert image.format == "JPEG"
        assert getattr(image, "n_frames", 1) == 1
        np.testing.assert_array_equal(np.asarray(image), _decoded(mpo))
    assert b"secret-trailer" not in sanitized
    assert b"MPF\x00" not in sanitized


def test_cmyk_jpeg_keeps_its_adobe_segment(encode, lesion_like) -> None:
    cmyk = encode(Image.fromarray(lesion_like(seed=9)).convert("CMYK"), "JPEG")

    sanitized = sanitize_image(cmyk)

    assert b"Adobe" in sanitized
    np.testing.assert_array_equal(_decoded(sanitized), _decoded(cmyk))


@pytest.mark.parametrize("folder", ["kaggle_jpegs", "ham_jpegs"])
def test_real_photos_lose_nothing_but_metadata(request: pytest.FixtureRequest, folder: str) -> None:
    paths: list[Path] = request.getfixturevalue(folder)
    for path in paths[:5]:
        original = path.read_bytes()

        sanitized = sanitize_image(original)

        _assert_metadata_free(sanitized)
        np.testing.assert_array_equal(_decoded(sanitized), _decoded(original))


def test_png_keeps_only_pixel_and_colour_chunks(encode, lesion_like) -> None:
    info = PngInfo()
    info.add_text("Author", "secret-author")
    info.add_text("Comment", "secret-comment", zip=True)
    info.add_itxt("XML:com.adobe.xmp", "secret-xmp")
    info.add(b"tIME", struct.pack(">HBBBBB", 2024, 5, 1, 12, 0, 0))
    info.add(b"prVt", b"secret-private")
    palette_image = Image.fromarray(lesion_like(seed=10)).quantize(64)
    png = encode(
        palette_image,
        "PNG",
        pnginfo=info,
        exif=_camera_exif(),
        icc_profile=SRGB_ICC,
        transparency=0,
        dpi=(300, 300),
    )
    assert {b"tEXt", b"zTXt", b"iTXt", b"tIME", b"prVt", b"eXIf"} <= set(_png_chunk_types(png))

    sanitized = sanitize_image(png)

    kept = _png_chunk_types(sanitized)
    assert set(kept) == {b"IHDR", b"iCCP", b"PLTE", b"tRNS", b"pHYs", b"IDAT", b"IEND"}
    assert (kept[0], kept[-1]) == (b"IHDR", b"IEND")
    _assert_metadata_free(sanitized)
    np.testing.assert_array_equal(_decoded(sanitized), _decoded(png))


# The picture as it should be seen: four coloured quadrants, wider than tall.
UPRIGHT = np.zeros((48, 64, 3), np.uint8)
UPRIGHT[:24, :32] = (255, 0, 0)
UPRIGHT[:24, 32:] = (0, 255, 0)
UPRIGHT[24:, :32] = (0, 0, 255)
UPRIGHT[24:, 32:] = (255, 255, 255)

# How a camera stores the upright picture for each EXIF orientation (from the EXIF spec:
# where the stored first row and first column end up when displayed).
STORED_FOR_ORIENTATION = {
    2: lambda u: u[:, ::-1],  # first row at the top, first column on the right
    3: lambda u: u[::-1, ::-1],  # bottom, right
    4: lambda u: u[::-1],  # bottom, left
    5: lambda u: u.transpose(1, 0, 2),  # left, top
    6: lambda u: np.rot90(u, 1),  # right, top: displayed after a clockwise quarter turn
    7: lambda u: u[::-1, ::-1].transpose(1, 0, 2),  # right, bottom
    8: lambda u: np.rot90(u, -1),  # left, bottom: displayed after an anticlockwise turn
}


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
@pytest.mark.parametrize("orientation", sorted(STORED_FOR_ORIENTATION))
def test_orientation_is_applied(encode, image_format: str, orientation: int) -> None:
    stored = np.ascontiguousarray(STORED_FOR_ORIENTATION[orientation](UPRIGHT))
    options = {"quality": 95, "subsampling": 0} if image_format == "JPEG" else {}
    data = encode(Image.fromarray(stored), image_format, exif=_camera_exif(orientation), **options)

    sanitized = sanitize_image(data)

    _assert_metadata_free(sanitized)
    pixels = _decoded(sanitized).astype(int)
    assert pixels.shape == UPRIGHT.shape
    for rows in (slice(4, 20), slice(28, 44)):
        for columns in (slice(4, 28), slice(36, 60)):
            quadrant = pixels[rows, columns].reshape(-1, 3).mean(axis=0)
            np.testing.assert_allclose(quadrant, UPRIGHT[rows, columns][0, 0], atol=12)


def test_reencoded_jpeg_keeps_icc_profile_and_subsampling(encode) -> None:
    data = encode(
        Image.fromarray(np.ascontiguousarray(np.rot90(UPRIGHT))),
        "JPEG",
        exif=_camera_exif(6),
        icc_profile=SRGB_ICC,
        subsampling=0,
    )

    sanitized = sanitize_image(data)

    with Image.open(io.BytesIO(sanitized)) as image:
        assert image.size == (64, 48)
        assert image.info["icc_profile"] == SRGB_ICC
        assert JpegImagePlugin.get_sampling(image) == 0  # 4:4:4


def test_upright_orientation_tag_keeps_the_lossless_path(camera_jpeg: bytes) -> None:
    sanitized = sanitize_image(camera_jpeg)  # orientation 1

    assert sanitized.endswith(camera_jpeg[camera_jpeg.rindex(b"\xff\xda") :])


@pytest.mark.parametrize(
    "damage",
    [
        lambda jpeg: jpeg[:-2],  # no EOI
        lambda jpeg: jpeg[:4] + b"\xff\xff" + jpeg[6:],  # first segment runs past the end
        lambda jpeg: jpeg[:20] + b"\x00" * 20,  # nothing after the JFIF header
    ],
    ids=["missing EOI", "segment overrun", "no frame"],
)
def test_broken_jpeg_structure_is_corrupt(encode, damage) -> None:
    jpeg = encode(Image.fromarray(UPRIGHT), "JPEG")

    with pytest.raises(Invalid) as raised:
        sanitize_image(damage(jpeg))

    assert raised.value.code == "corrupt_image"


@pytest.mark.parametrize(
    "damage",
    [lambda png: png[:-12], lambda png: png[:-20]],
    ids=["missing IEND", "IDAT cut short"],
)
def test_broken_png_structure_is_corrupt(encode, damage) -> None:
    png = encode(Image.fromarray(UPRIGHT), "PNG")

    with pytest.raises(Invalid) as raised:
        sanitize_image(damage(png))

    assert raised.value.code == "corrupt_image"


def test_other_formats_are_refused(encode) -> None:
    with pytest.raises(UnsupportedMediaType) as raised:
        sanitize_image(encode(Image.fromarray(UPRIGHT), "GIF"))

    assert raised.value.code == "unsupported_format"
