"""The gateway's per-photo checks, timed against their plain definitions.

Times ``skin_photo_features`` and ``uniform_fraction`` (what ``prepare_image`` runs on every
cache miss) and the plain numpy definitions that ``tests/imaging/test_fast_checks.py`` proves
them equal to, on every 100th photo of ../shared/data as the gateway decodes them. Figures only.

    .venv/bin/python bench/photo_checks.py
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skinguard_imaging.content import uniform_fraction
from skinguard_imaging.intake import CHECK_MAX_SIDE, decode_rgb
from skinguard_imaging.skin_photo import skin_photo_features

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "tests" / "imaging"))
from test_fast_checks import reference_skin_photo_features, reference_uniform_fraction  # noqa: E402


def milliseconds_per_photo(check: Callable[[np.ndarray], object], photos: list[np.ndarray], rounds: int = 5) -> float:
    check(photos[0])
    started = time.perf_counter()
    for _ in range(rounds):
        for photo in photos:
            check(photo)
    return (time.perf_counter() - started) / len(photos) / rounds * 1000


def main() -> int:
    files = sorted(DATA.glob("*/images/*.jpg"))[::100]
    if not files:
        print(f"no photos under {DATA}", file=sys.stderr)
        return 1
    photos = [decode_rgb(path.read_bytes(), max_side=CHECK_MAX_SIDE) for path in files]
    checks = (
        ("skin-colour features", reference_skin_photo_features, skin_photo_features),
        ("flat-block share", reference_uniform_fraction, uniform_fraction),
    )
    for name, plain, fast in checks:
        before, after = milliseconds_per_photo(plain, photos), milliseconds_per_photo(fast, photos)
        print(f"{name}: plain {before:.2f} ms, as run {after:.2f} ms per photo ({len(photos)} photos)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
