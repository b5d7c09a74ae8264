"""What ``make fuzz`` prints: answers by status, the slowest answer and the peak memory; and
its time bound (``SKINGUARD_FUZZ_SECONDS`` per property: later cases are skipped)."""

from __future__ import annotations

import os
import resource
import time
from collections import Counter


class Recorder:
    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.slowest = 0.0
        self.budget = float(os.environ.get("SKINGUARD_FUZZ_SECONDS", "0")) or None
        self._started: dict[str, float] = {}

    def record(self, status: int, seconds: float) -> None:
        self.statuses[status] += 1
        self.slowest = max(self.slowest, seconds)

    def out_of_time(self, prop: str) -> bool:
        started = self._started.setdefault(prop, time.monotonic())
        return self.budget is not None and time.monotonic() - started > self.budget

    def summary(self) -> str:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        counts = ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items()))
        return (
            f"fuzz: {sum(self.statuses.values())} requests ({counts}); slowest answer "
            f"{self.slowest * 1000:.0f} ms; peak RSS of the test process (all three services) {peak_mib:.0f} MiB"
        )


RECORDER = Recorder()
