"""The gateway feeds the model exactly the pixels training made from the same photo.

Training reads each image as ingestion stored it (``GET /api/images/{id}/content`` serves those
bytes) and turns it into pixels with ``PixelCache.model_input``, i.e. ``to_model_input(data,
size)``; ``skinguard_training.data`` imports TensorFlow, so the test reads that call from its
source instead of importing it, and applies it to the bytes the real ingestion service stored.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skinguard_imaging import to_model_input
from support import images
from support.model_server_double import InMemoryModelClient

from .conftest import serving_gateway
from .test_predict_api import predict

SIZE = 64


def rotated_phone_photo() -> bytes:
    """A JPEG whose EXIF says "turn 90 degrees": ingestion re-encodes it upright."""
    return images.encode(
        images.lesion_like(320, 240, seed=4), "JPEG", quality=92, exif=images.exif_with_gps_and_serial(6)
    )


def transparent_png() -> bytes:
    photo = images.lesion_like(256, 256, seed=5).convert("RGBA")
    photo.putalpha(Image.linear_gradient("L").resize((256, 256)))
    return images.encode(photo, "PNG")


PHOTOS = {
    "jpeg": lambda: images.jpeg(320, 240, seed=3),
    "rotated-jpeg": rotated_phone_photo,
    "transparent-png": transparent_png,
    **{f"kaggle-{path.stem}": path.read_bytes for path in images.real_images(count=2)},
}


def training_preprocessing_call() -> str:
    """The call ``PixelCache.model_input`` makes to turn stored bytes into training pixels."""
    source = Path(importlib.util.find_spec("skinguard_training.image_cache").origin).read_text()
    tree = ast.parse(source)
    imported = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "skinguard_imaging"
        for alias in node.names
    }
    assert "to_model_input" in imported, "training no longer preprocesses with skinguard_imaging.to_model_input"
    cache = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "PixelCache")
    method = next(node for node in cache.body if isinstance(node, ast.FunctionDef) and node.name == "model_input")
    calls = [ast.unparse(node) for node in ast.walk(method) if isinstance(node, ast.Call)]
    return next(call for call in calls if call.startswith("to_model_input("))


def test_training_makes_pixels_with_the_shared_function_on_the_stored_bytes() -> None:
    assert training_preprocessing_call() == "to_model_input(data, size)"


@pytest.mark.parametrize("photo", PHOTOS)
async def test_the_gateways_model_input_equals_the_training_pipelines(
    photo, gateway_settings, ingestion_service, callers, clean_gateway
) -> None:
    data = PHOTOS[photo]()
    _, ingestion = ingestion_service
    uploader = callers["uploader"].headers
    stored = await ingestion.post("/api/images/upload", headers=uploader, files={"image": ("p", data)})
    assert stored.status_code == 201, stored.text
    stored_bytes = (await ingestion.get(f"/api/images/{stored.json()['id']}/content", headers=uploader)).content
    training_pixels = to_model_input(stored_bytes, SIZE)

    model_server = InMemoryModelClient(input_size=SIZE)
    model_server.serve(1)
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        assert (await predict(client, data)).status_code == 200
    ((_, gateway_pixels),) = model_server.inputs
    assert gateway_pixels.dtype == np.uint8 and gateway_pixels.shape == (SIZE, SIZE, 3)
    np.testing.assert_array_equal(gateway_pixels, training_pixels)
