"""The original design's ``model_server.py``, rebuilt as the benchmark's baseline.

One FastAPI process: every request writes the upload to a temporary file, opens it with PIL,
resizes it and calls Keras ``model.predict`` on a batch of one. No batching, no cache, no gRPC.

    python bench/baseline_model_server.py MODEL.keras PORT
"""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Annotated

import numpy as np
import uvicorn
from fastapi import FastAPI, File, UploadFile
from PIL import Image


def create_app(model_path: str) -> FastAPI:
    import keras

    import skinguard_training.networks  # noqa: F401  (registers the model's custom layers)

    model = keras.saving.load_model(model_path, compile=False)
    size = model.input_shape[1]
    app = FastAPI(title="baseline model_server.py")

    @app.post("/predict")
    async def predict(file: Annotated[UploadFile, File()]) -> dict:
        with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as handle:
            handle.write(await file.read())
            path = handle.name
        try:
            image = Image.open(path).convert("RGB").resize((size, size))
            pixels = np.asarray(image, dtype=np.float32)[None]
            benign, malignant = model.predict(pixels, verbose=0)[0]
        finally:
            os.unlink(path)
        label = "Malignant" if malignant > benign else "Benign"
        return {
            "predicted_class": label,
            "confidence": float(max(benign, malignant)),
            "probabilities": {"benign": float(benign), "malignant": float(malignant)},
        }

    return app


if __name__ == "__main__":
    uvicorn.run(create_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
