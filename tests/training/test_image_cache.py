"""The pixel cache stays within its bounds and forgets erased images."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from skinguard_imaging import to_model_input
from skinguard_training.image_cache import PixelCache
from support import images


def _cached(cache: PixelCache, seeds: range, size: int = 16) -> list[str]:
    hashes = []
    for seed in seeds:
        data = images.png(seed=seed)
        cache.model_input(data, size)
        hashes.append(hashlib.sha256(data).hexdigest())
    return hashes


def _entries(directory: Path) -> set[str]:
    return {path.stem for path in directory.glob("*px/*.npy")}


def test_an_entry_is_the_shared_preprocessing_and_a_hit_reads_it_back(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path)
    data = images.png(seed=1)
    first = cache.model_input(data, 24)
    assert np.array_equal(first, to_model_input(data, 24))
    path = tmp_path / "24px" / f"{hashlib.sha256(data).hexdigest()}.npy"
    np.save(path, np.zeros_like(first))  # a hit comes from the file, not from decoding again
    assert not cache.model_input(data, 24).any()


def test_the_sweep_drops_erased_images_expired_entries_and_the_least_recently_used(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path)
    hashes = _cached(cache, range(6))
    erased = hashes[0]
    assert cache.sweep(lambda sha: sha != erased) == 1
    assert _entries(tmp_path) == set(hashes[1:])

    now = max(path.stat().st_mtime for path in tmp_path.glob("*px/*.npy"))
    for age, sha in enumerate(hashes[1:]):  # hashes[1] used longest ago
        os.utime(tmp_path / "16px" / f"{sha}.npy", (now - 1000 + age, now - 1000 + age))
    cache.model_input(images.png(seed=1), 16)  # a hit: hashes[1] is now the most recently used
    entry_size = (tmp_path / "16px" / f"{hashes[1]}.npy").stat().st_size

    aged = PixelCache(tmp_path, max_age_seconds=998.5)
    assert aged.sweep(lambda _: True, now=now) == 1  # hashes[2], unused for 999 s
    bounded = PixelCache(tmp_path, max_bytes=2 * entry_size)
    assert bounded.sweep(lambda _: True, now=now) == 2
    assert _entries(tmp_path) == {hashes[1], hashes[5]}  # the two most recently used


def test_an_entry_swept_while_in_use_is_decoded_again(tmp_path: Path) -> None:
    cache = PixelCache(tmp_path)
    data = images.png(seed=3)
    cache.model_input(data, 16)
    cache.sweep(lambda _: False)
    assert np.array_equal(cache.model_input(data, 16), to_model_input(data, 16))
