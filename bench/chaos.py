"""Chaos: outages of growing length under load, and what the service made of each.

Starts its own servers and ingestion (as ``make run`` does, with its own credentials) in a
temporary directory, keeps uploads flowing at concurrency 4, and pauses S3 and then PostgreSQL
(SIGSTOP of the process tree) for 2, 5 and 10 s each. Per fault it prints the requests sent
during the outage and until recovery, their status codes, the worst latency, the recovery time
(from the resume to the first upload stored again) and the integrity check after the orphan
sweep (objects = rows). Figures, no assertions.

    .venv/bin/python bench/chaos.py [--outages 2,5,10]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import signal
import sys
import time
from collections import Counter

import httpx
import numpy as np
import psutil
from PIL import Image
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from stack import bench_stack

from skinguard_devstack.stack import Infrastructure
from skinguard_ingestion.images.orphans import sweep_orphans
from skinguard_ingestion.settings import IngestionSettings
from skinguard_runtime.storage import S3ObjectStore


def photo(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(60, 220, size=(240, 240, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def signal_tree(pid: int, sig: signal.Signals) -> None:
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        process.send_signal(sig)


class Load:
    """Uploads of fresh photos at a fixed concurrency, each answer recorded with its time."""

    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        self.answers: list[tuple[float, float, int]] = []  # (sent at, latency, status)
        self.seed = 0
        self.running = True
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.in_flight = 0

    async def worker(self) -> None:
        while self.running:
            await self.flowing.wait()
            self.seed += 1
            self.in_flight += 1
            data = photo(self.seed)
            sent = time.monotonic()
            try:
                response = await self.client.post("/api/images/upload", files={"image": ("x.png", data, "image/png")})
                status = response.status_code
            except httpx.HTTPError:
                status = 0  # no answer at all
            self.in_flight -= 1
            self.answers.append((sent, time.monotonic() - sent, status))

    async def quiet(self) -> None:
        """Stop sending and wait for every answer (for a consistent integrity check)."""
        self.flowing.clear()
        while self.in_flight:  # noqa: ASYNC110 (polls a counter)
            await asyncio.sleep(0.05)


async def integrity(settings: IngestionSettings) -> str:
    engine = create_async_engine(settings.database_url)
    store = S3ObjectStore(settings)
    await sweep_orphans(async_sessionmaker(engine), store, grace_seconds=0)
    async with engine.connect() as connection:
        rows = set((await connection.execute(text("SELECT image_hash FROM training_images"))).scalars())
    await engine.dispose()
    objects = {key.removeprefix("images/") for key, _ in await store.listing("images/")}
    return (
        "objects = rows" if objects == rows else f"MISMATCH: {len(objects - rows)} objects, {len(rows - objects)} rows"
    )


async def run(infra: Infrastructure, url: str, token: str, owner: IngestionSettings, outages: list[float]) -> None:
    load = Load(url, token)
    workers = [asyncio.create_task(load.worker()) for _ in range(4)]
    await asyncio.sleep(3)
    print(f"{'fault':<14} {'requests':>8} {'worst s':>8} {'recovery s':>10}  codes; integrity")
    for name, server in (("S3", infra.s3), ("PostgreSQL", infra.postgres)):
        for seconds in outages:
            started = time.monotonic()
            signal_tree(server.process.popen.pid, signal.SIGSTOP)
            await asyncio.sleep(seconds)
            resumed = time.monotonic()
            signal_tree(server.process.popen.pid, signal.SIGCONT)
            while not any(sent >= resumed and status in (200, 201) for sent, _, status in load.answers):  # noqa: ASYNC110 (polls the record)
                await asyncio.sleep(0.1)
            recovered = min(
                sent + latency for sent, latency, status in load.answers if sent >= resumed and status < 300
            )
            # Every request that overlapped the outage or the recovery.
            window = [
                (latency, status)
                for sent, latency, status in load.answers
                if sent + latency >= started and sent <= recovered
            ]
            codes = Counter(status for _, status in window)
            await load.quiet()
            checked = await integrity(owner)
            load.flowing.set()
            print(
                f"{name + f' {seconds:g} s':<14} {len(window):>8} {max(latency for latency, _ in window):>8.1f} "
                f"{recovered - resumed:>10.1f}  {dict(sorted(codes.items()))}; {checked}",
                flush=True,
            )
            await asyncio.sleep(2)
    load.running = False
    await asyncio.gather(*workers)
    await load.client.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--outages", default="2,5,10", help="outage lengths in seconds")
    args = parser.parse_args()
    outages = [float(value) for value in args.outages.split(",")]
    with bench_stack("skinguard-chaos-", ["ingestion"], log_level="ERROR") as stack:
        owner = IngestionSettings(**{k.removeprefix("SKINGUARD_").lower(): v for k, v in stack.infra.env().items()})
        ingestion = stack.services["ingestion"]
        asyncio.run(run(stack.infra, ingestion.url, stack.uploader_token, owner, outages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
