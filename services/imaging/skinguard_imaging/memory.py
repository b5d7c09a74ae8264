"""Bounded memory for decoding: a budget that concurrent decodes share.

A 36-megapixel photo costs over 100 MB as RGB pixels, several times that through the copies a
decode makes; eight at once would need gigabytes. Decodes are scaled down where the check
allows (``decode_rgb(max_side=...)``), and each holds its estimated bytes of this budget while it
runs, so concurrent decodes wait rather than overcommit. Freed memory is handed back after
large requests by the chassis (``ReturnMemoryMiddleware``), once per request.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class MemoryBudget:
    def __init__(self, total_bytes: int) -> None:
        self.total = total_bytes
        self._available = total_bytes
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, estimate: int) -> Iterator[None]:
        """Wait until ``estimate`` bytes (at most the whole budget) are free; hold them meanwhile."""
        amount = max(1, min(estimate, self.total))
        with self._changed:
            self._changed.wait_for(lambda: self._available >= amount)
            self._available -= amount
        try:
            yield
        finally:
            with self._changed:
                self._available += amount
                self._changed.notify_all()

    @property
    def available(self) -> int:
        return self._available


# Shared by every decode of the process; SKINGUARD_DECODE_MEMORY_MB sizes it (default 256).
DECODE_BUDGET = MemoryBudget(int(os.environ.get("SKINGUARD_DECODE_MEMORY_MB", "256")) * 2**20)
