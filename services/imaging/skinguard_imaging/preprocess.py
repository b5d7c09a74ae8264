"""The one preprocessing step between a photo's bytes and a model's input, for training and serving.

Training caches its output for every image of a dataset and the gateway runs it on every upload,
so a served model sees pixels made exactly as its training pixels were. Normalisation is not done
here: it is part of each exported model, which takes plain RGB pixels 0-255.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import ExifTags, Image

from .formats import reading_untrusted_image
from .intake import decode_rgb

# A photo far larger than the model's input is decoded at no more than this many times the
# input size (JPEG DCT scaling, then a box reduction): the area resize below then sees the same
# detail, and memory stays bounded.
_OVERSAMPLING = 4

# How each EXIF orientation (2-8) turns the stored pixels upright, as Pillow's exif_transpose does.
_UPRIGHT = {
    2: lambda pixels: pixels[:, ::-1],  # mirrored left-right
    3: lambda pixels: pixels[::-1, ::-1],  # rotated 180 degrees
    4: lambda pixels: pixels[::-1],  # mirrored top-bottom
    5: lambda pixels: pixels.transpose(1, 0, 2),  # mirrored along the main diagonal
    6: lambda pixels: np.rot90(pixels, -1),  # needs 90 degrees clockwise
    7: lambda pixels: np.rot90(pixels, 2).transpose(1, 0, 2),  # mirrored along the other diagonal
    8: lambda pixels: np.rot90(pixels, 1),  # needs 90 degrees counter-clockwise
}


def to_model_input(data: bytes, size: int) -> np.ndarray:
    """Turn JPEG or PNG bytes into the ``uint8`` RGB array ``(size, size, 3)`` a model takes.

    The EXIF orientation is applied (stored uploads are already upright, raw phone photos may
    not be); transparency is composited onto white and 16-bit greyscale keeps its high byte, as
    at ingestion. The whole picture is resized to the square, so a non-square photo is stretched
    rather than cropped (a lesion near the border stays in). A photo over 4x the input size is
    first decoded reduced (``decode_rgb(max_side=...)``). Interpolation: ``cv2.INTER_AREA``
    (pixel-area averaging, no aliasing) when both sides shrink, ``cv2.INTER_LINEAR`` otherwise.

    Raises ``corrupt_image`` (``Invalid``, 422) for bytes that cannot be decoded.
    """
    with reading_untrusted_image():
        with Image.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as image:
            orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
        pixels = decode_rgb(data, max_side=size * _OVERSAMPLING)
    upright = _UPRIGHT.get(orientation, lambda unchanged: unchanged)(pixels)
    height, width = upright.shape[:2]
    shrinks = size <= height and size <= width
    interpolation = cv2.INTER_AREA if shrinks else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(upright), (size, size), interpolation=interpolation)
