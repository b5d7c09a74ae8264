"""Ingestion benchmark: uploads real images at concurrency 1 and 8 and prints figures.

Starts its own servers and ingestion service (as ``make run`` does) in a temporary directory,
then reports images/s, p50/p99 latency and the service's peak RSS. Figures, not assertions.

    .venv/bin/python bench/ingest.py [--images 300] [--data ../shared/data/kaggle-mvb]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil
from stack import bench_stack

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "kaggle-mvb"


class PeakRss:
    """Samples a process tree's resident memory every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()


async def upload_all(
    url: str, token: str, paths: list[Path], concurrency: int
) -> tuple[float, list[float], dict[int, int]]:
    queue: asyncio.Queue[Path] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            path = queue.get_nowait()
            data = path.read_bytes()
            started = time.perf_counter()
            response = await client.post(
                "/api/images/upload",
                files={"image": (path.name, data, "image/jpeg")},
                data={"source": "bench"},
            )
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, statuses


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=300, help="distinct images per concurrency level")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    paths = sorted(args.data.rglob("*.jpg"))
    if not paths:
        print(f"no images under {args.data}", file=sys.stderr)
        return 1
    levels = (1, 8)
    needed = args.images * len(levels)
    if len(paths) < needed:
        args.images = len(paths) // len(levels)

    with bench_stack("skinguard-bench-", ["ingestion"]) as stack:
        ingestion, token = stack.services["ingestion"], stack.uploader_token
        print(f"ingestion benchmark: {args.images} distinct real images per level from {args.data}")
        print(f"{'concurrency':>11} {'images/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'peak RSS MiB':>13}  statuses")
        for index, concurrency in enumerate(levels):
            batch = paths[index * args.images : (index + 1) * args.images]
            with PeakRss(ingestion.process.popen.pid) as rss:
                elapsed, latencies, statuses = asyncio.run(upload_all(ingestion.url, token, batch, concurrency))
            print(
                f"{concurrency:>11} {len(batch) / elapsed:>9.1f} {percentile(latencies, 50) * 1000:>8.1f} "
                f"{percentile(latencies, 99) * 1000:>8.1f} {rss.peak / 2**20:>13.0f}  {statuses}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
