"""The worker's decoded-pixel cache: model inputs by image content and size, bounded.

Entries are ``<dir>/<size>px/<sha256 of the bytes>.npy`` (the SHA-256 is the image's object key
in S3), written atomically; reading one marks it used. ``sweep`` keeps the cache within its
bounds and drops the entries of images no longer stored, so an erased photo's pixels do not
outlive it: the worker sweeps every ``SKINGUARD_IMAGE_CACHE_SWEEP_SECONDS``. No TensorFlow here:
the worker's main process sweeps.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skinguard_imaging import to_model_input

logger = logging.getLogger(__name__)
_SUFFIX = ".npy"


class PixelCache:
    def __init__(self, directory: Path, *, max_bytes: int | None = None, max_age_seconds: float | None = None) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds

    def model_input(self, data: bytes, size: int) -> np.ndarray:
        path = self.directory / f"{size}px" / f"{hashlib.sha256(data).hexdigest()}{_SUFFIX}"
        try:
            pixels = np.load(path)
            os.utime(path)  # used now: the last entry the size bound removes
            return pixels
        except FileNotFoundError:  # not cached, or swept since
            pass
        pixels = to_model_input(data, size)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as file:
            np.save(file, pixels)
        os.replace(file.name, path)
        return pixels

    def sweep(self, is_stored: Callable[[str], bool], now: float | None = None) -> int:
        """Remove entries whose image ``is_stored(sha256)`` no more, entries unused for
        ``max_age_seconds``, then the least recently used while over ``max_bytes``; returns how
        many were removed."""
        now = time.time() if now is None else now
        kept: list[tuple[float, int, Path]] = []
        removed = 0
        for path in self.directory.glob(f"*px/*{_SUFFIX}"):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            expired = self.max_age_seconds is not None and now - stat.st_mtime > self.max_age_seconds
            if expired or not is_stored(path.stem):
                removed += _remove(path)
            else:
                kept.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in kept)
        for _, size, path in sorted(kept):  # oldest use first
            if self.max_bytes is None or total <= self.max_bytes:
                break
            removed += _remove(path)
            total -= size
        return removed


def _remove(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1
