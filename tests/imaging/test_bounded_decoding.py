"""Large photos are decoded within bounds: reduced where the check allows, under a shared budget."""

from __future__ import annotations

import threading
import time

from PIL import Image

from skinguard_imaging import ImageLimits, decode_rgb, prepare_image, to_model_input
from skinguard_imaging.intake import CHECK_MAX_SIDE
from skinguard_imaging.memory import MemoryBudget
from support import images


def _large(fmt: str = "JPEG") -> bytes:
    return images.encode(images.lesion_like(400, 300, seed=41).resize((4000, 3000), Image.BICUBIC), fmt)


def test_a_large_photo_is_checked_on_a_bounded_copy_and_reports_its_real_size() -> None:
    for fmt in ("JPEG", "PNG"):
        pixels = decode_rgb(_large(fmt), max_side=CHECK_MAX_SIDE)
        assert max(pixels.shape[:2]) <= CHECK_MAX_SIDE and pixels.shape[2] == 3, fmt
        assert max(pixels.shape[:2]) >= CHECK_MAX_SIDE // 2, fmt
    prepared = prepare_image(_large(), ImageLimits(max_bytes=20 * 2**20))
    assert (prepared.width, prepared.height) == (4000, 3000)
    assert (prepared.quality.width, prepared.quality.height) == (4000, 3000)


def test_the_model_input_of_a_large_photo_matches_a_full_decode_closely() -> None:
    import cv2
    import numpy as np

    data = _large()
    full = cv2.resize(decode_rgb(data), (224, 224), interpolation=cv2.INTER_AREA).astype(int)
    bounded = to_model_input(data, 224).astype(int)
    assert np.abs(full - bounded).mean() < 1.0 and np.abs(full - bounded).max() <= 16


def test_decodes_wait_for_the_budget_instead_of_overcommitting() -> None:
    budget = MemoryBudget(100)
    held, peak, lock = [0], [0], threading.Lock()

    def decode(estimate: int) -> None:
        with budget.hold(estimate):
            with lock:
                held[0] += min(estimate, 100)
                peak[0] = max(peak[0], held[0])
            time.sleep(0.05)
            with lock:
                held[0] -= min(estimate, 100)

    threads = [threading.Thread(target=decode, args=(estimate,)) for estimate in (60, 60, 60, 500, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert peak[0] <= 100 and budget.available == 100  # an estimate over the budget takes it whole
