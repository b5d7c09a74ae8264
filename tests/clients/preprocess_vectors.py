"""Preprocessing vectors for the TypeScript SDK: ``to_model_input`` (Pillow decode, box reduction,
cv2 resize) on seeded pixels that the SDK's tests make again with the same generator.

    .venv/bin/python tests/clients/preprocess_vectors.py [OUT.json]

writes clients/typescript/test/fixtures/preprocess-vectors.json by default; the SDK compares its
``toModelInput`` with every case (``SKINGUARD_PREPROCESS_VECTORS`` names another file).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from skinguard_imaging import to_model_input

DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "clients/typescript/test/fixtures/preprocess-vectors.json"
FULL_OUTPUT_MAX_BYTES = 64 * 64 * 3  # small outputs are stored whole (readable diffs), all as SHA-256

# (width, height, channels, pattern, input size): every resize path of to_model_input.
CASES: list[tuple[int, int, int, str, int]] = [
    (64, 64, 3, "noise", 32),  # INTER_AREA, 2x2 integer path
    (96, 64, 3, "noise", 32),  # INTER_AREA, 3x2 integer path
    (90, 90, 3, "noise", 30),  # INTER_AREA, 3x3 integer path
    (100, 87, 3, "noise", 32),  # INTER_AREA, fractional weights
    (224, 224, 3, "noise", 224),  # the same size
    (250, 230, 3, "noise", 224),  # INTER_AREA, slight shrink
    (240, 240, 3, "noise", 32),  # reduced by 2 (120 x 120), then INTER_AREA
    (300, 260, 3, "noise", 32),  # reduced by 3 with partial edge boxes, then INTER_AREA
    (301, 257, 3, "gradient", 64),  # reduced by 2 with partial edge boxes
    (200, 300, 3, "noise", 224),  # INTER_LINEAR: one side grows
    (100, 50, 3, "gradient", 64),  # INTER_LINEAR: both grow
    (37, 23, 3, "noise", 64),  # INTER_LINEAR, odd sizes
    (300, 1000, 3, "noise", 224),  # reduced by 2 (150 x 500), then INTER_LINEAR
    (120, 110, 4, "noise", 32),  # transparency composited onto white
    (240, 250, 4, "gradient", 224),  # transparency, INTER_LINEAR
    (300, 260, 4, "noise", 32),  # transparency reduced premultiplied (Pillow's RGBa), then composited
    (301, 257, 4, "gradient", 64),  # the same with partial edge boxes
]


def mulberry32(seed: int):
    """The same 32-bit generator as the SDK's tests (test/helpers.ts)."""
    state = seed & 0xFFFFFFFF

    def next_value() -> int:
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return (t ^ (t >> 14)) & 0xFFFFFFFF

    return next_value


def pixels(width: int, height: int, channels: int, pattern: str, seed: int) -> np.ndarray:
    """Noise: every byte from the generator. Gradient: smooth ramps plus a little noise (alpha random)."""
    rng = mulberry32(seed)
    count = width * height * channels
    if pattern == "noise":
        return np.array([rng() & 0xFF for _ in range(count)], dtype=np.uint8).reshape(height, width, channels)
    values = np.empty(count, dtype=np.uint8)
    index = 0
    for y in range(height):
        for x in range(width):
            for c in range(channels):
                if c == 3:
                    values[index] = rng() & 0xFF
                else:
                    ramp = (x * (c + 1) * 255) // max(1, width - 1) + (y * 255) // max(1, height - 1)
                    values[index] = (ramp + (rng() & 7)) & 0xFF
                index += 1
    return values.reshape(height, width, channels)


def case(index: int, width: int, height: int, channels: int, pattern: str, size: int) -> dict:
    seed = 1000 + index
    array = pixels(width, height, channels, pattern, seed)
    buffer = io.BytesIO()
    Image.fromarray(array, "RGBA" if channels == 4 else "RGB").save(buffer, "PNG")
    expected = np.ascontiguousarray(to_model_input(buffer.getvalue(), size)).tobytes()
    item = {
        "width": width,
        "height": height,
        "channels": channels,
        "pattern": pattern,
        "seed": seed,
        "size": size,
        "sha256": hashlib.sha256(expected).hexdigest(),
    }
    if len(expected) <= FULL_OUTPUT_MAX_BYTES:
        item["expected"] = base64.b64encode(expected).decode()
    return item


def vectors() -> dict:
    import cv2
    import PIL

    return {
        "generator": "tests/clients/preprocess_vectors.py",
        "opencv": cv2.__version__,
        "pillow": PIL.__version__,
        "cases": [case(index, *spec) for index, spec in enumerate(CASES)],
    }


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(vectors(), indent=1) + "\n")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
