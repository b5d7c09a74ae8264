"""Memory under large photos: 8 concurrent 36-megapixel uploads to ingestion and to the gateway.

Starts its own servers, ingestion and the gateway (as ``make run`` does, each with its own
credentials) in a temporary directory, then for each service prints its resident memory at
rest (warm: after one ordinary photo), its peak while eight 36 MP JPEGs arrive at once, and at
rest again afterwards. The
gateway has no model here: the photo is fully validated (the decoding path) before the 503.
Targets (issue 12): peak under 600 MB, at rest within 50 MB of the start. Figures, no assertions.

    .venv/bin/python bench/upload_memory.py [--concurrency 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time

import httpx
import numpy as np
import psutil
from ingest import PeakRss
from PIL import Image
from stack import bench_stack

from skinguard_devstack.stack import ServiceProcess

MIB = 2**20


def photo_36mp(seed: int) -> bytes:
    """A 7200x5000 JPEG (about 6 MB): a smooth skin-like picture with sensor-like noise."""
    rng = np.random.default_rng(seed)
    small = rng.integers(90, 230, size=(25, 36, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(small).resize((7200, 5000), Image.BICUBIC), dtype=np.int16)
    noisy = np.clip(base + rng.integers(-6, 7, size=(5000, 7200, 1), dtype=np.int16), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def images_of_normal_size() -> bytes:
    pixels = np.random.default_rng(0).integers(60, 200, size=(450, 600, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def send_all(url: str, path: str, field: str, photos: list[bytes], headers: dict) -> dict[int, int]:
    statuses: dict[int, int] = {}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300) as client:

        async def one(data: bytes) -> None:
            response = await client.post(path, files={field: ("big.jpg", data, "image/jpeg")})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        await asyncio.gather(*(one(data) for data in photos))
    return statuses


def rss(service: ServiceProcess) -> int:
    return psutil.Process(service.process.popen.pid).memory_info().rss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="bursts per service (distinct photos each)")
    args = parser.parse_args()
    print(f"making {args.concurrency * args.rounds} photos of 36 MP ...", flush=True)
    photos = [photo_36mp(seed) for seed in range(args.concurrency * args.rounds)]
    print(f"photo size {sum(map(len, photos)) / len(photos) / MIB:.1f} MiB on average")

    targets = {
        "ingestion": ("/api/images/upload", "image"),
        "gateway": ("/predict", "file"),
    }
    with bench_stack("skinguard-bench-memory-", list(targets), SKINGUARD_RATE_LIMIT_PER_MINUTE="0") as stack:
        print(f"{'service':<10} {'at rest MiB':>12} {'peak MiB':>9} {'after MiB':>10}  statuses")
        for name, (path, field) in targets.items():
            service = stack.services[name]
            headers = {"Authorization": f"Bearer {stack.uploader_token}"} if name == "ingestion" else {}
            # Warm: one ordinary photo first, so lazy imports and pools count as the start.
            asyncio.run(send_all(service.url, path, field, [images_of_normal_size()], headers))
            time.sleep(1)
            resting = rss(service)
            statuses: dict[int, int] = {}
            with PeakRss(service.process.popen.pid) as peak:
                for round_index in range(args.rounds):
                    burst = photos[round_index * args.concurrency : (round_index + 1) * args.concurrency]
                    for status, count in asyncio.run(send_all(service.url, path, field, burst, headers)).items():
                        statuses[status] = statuses.get(status, 0) + count
            time.sleep(2)
            print(f"{name:<10} {resting / MIB:>12.0f} {peak.peak / MIB:>9.0f} {rss(service) / MIB:>10.0f}  {statuses}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
