"""Gateway benchmark: this architecture against the original ``model_server.py``, side by side.

One model (EfficientNet-Lite0 at 224 px, ImageNet weights) is served two ways in one run:
- SkinGuard: gateway (validation, shared preprocessing, Redis cache, prediction log) -> gRPC ->
  model server (TF Serving API, server-side batching), all as real processes;
- baseline: one FastAPI process, temp file + Keras ``model.predict`` per request
  (``bench/baseline_model_server.py``).
For cache misses (distinct real images) and cache hits (one image repeated) at concurrency 1, 8
and 32 it prints p50/p95/p99 latency and requests/s, and the ratios. Figures, not assertions.

    .venv/bin/python bench/gateway.py [--requests 96] [--data ../shared/data/kaggle-mvb]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx

from skinguard_devstack.processes import Process, free_port, port_open
from skinguard_devstack.stack import Infrastructure, service_env

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "kaggle-mvb"
LEVELS = (1, 8, 32)
BIN = Path(sys.executable).parent


def build_model(root: Path) -> Path:
    """Export one model for both: a SavedModel version for serving, a .keras file for the baseline."""
    from skinguard_contracts.training_config import TrainingConfig
    from skinguard_training.model_export import export_model
    from skinguard_training.networks import make_model

    model = make_model(TrainingConfig(model_type="EfficientNetLite0", weights="imagenet", input_size=224))
    export_model(model, root / "models" / "skinguard" / "1", model_name="skinguard")
    (root / "models" / "models.config").write_text(
        'model_config_list {\n  config {\n    name: "skinguard"\n    base_path: "%s"\n'
        '    model_platform: "tensorflow"\n    model_version_policy { all {} }\n'
        '    version_labels { key: "stable" value: 1 }\n  }\n}\n' % (root / "models" / "skinguard")
    )
    model.save(root / "baseline.keras")
    return root / "baseline.keras"


def summarise(latencies: list[float], seconds: float) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000, "rps": len(latencies) / seconds}


async def load(url: str, field: str, payloads: list[bytes], concurrency: int) -> dict[str, float]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(payload)
    latencies: list[float] = []
    failures = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while not queue.empty():
            payload = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post(url, files={field: ("photo.jpg", payload, "image/jpeg")})
            latencies.append(time.perf_counter() - started)
            failures += response.status_code != 200

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=64)) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    if failures:
        print(f"    warning: {failures} requests failed at {url}", file=sys.stderr)
    return summarise(latencies, seconds)


def wait_http(url: str, process: Process, timeout: float = 180) -> None:
    def ready() -> bool:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and b'"model_loaded":true' in response.read().replace(b" ", b"")

    process.wait_until(ready, timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=96, help="requests per scenario and concurrency")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    photos = sorted(args.data.rglob("*.jpg"))
    needed = args.requests * len(LEVELS)
    if len(photos) < needed + 1:
        print(f"need {needed + 1} images under {args.data}, found {len(photos)}", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="skinguard-bench-gateway-") as tmp:
        root = Path(tmp)
        print("building and exporting the model ...", flush=True)
        keras_file = build_model(root)
        infra = Infrastructure(root / "state")
        processes: list[Process] = []
        try:
            infra.start()
            grpc_port, gateway_port, baseline_port = free_port(), free_port(), free_port()
            env = {
                **service_env(infra, log_json=True, serving_grpc_port=grpc_port),
                "SKINGUARD_LOG_LEVEL": "WARNING",
                "SKINGUARD_MODEL_REPOSITORY": str(root / "models"),
                "SKINGUARD_MODEL_CONFIG_FILE": str(root / "models" / "models.config"),
                "SKINGUARD_SERVING_METRICS_PORT": str(free_port()),
                "SKINGUARD_GATEWAY_PORT": str(gateway_port),
                "SKINGUARD_RATE_LIMIT_PER_MINUTE": "1000000",
            }
            import subprocess

            subprocess.run([str(BIN / "skinguard-gateway"), "migrate"], env=env, check=True)
            logs = root / "logs"
            server = Process("model-server", [str(BIN / "skinguard-model-server")], logs / "server.log", env=env)
            gateway = Process("gateway", [str(BIN / "skinguard-gateway"), "serve"], logs / "gateway.log", env=env)
            baseline = Process(
                "baseline",
                [
                    sys.executable,
                    str(Path(__file__).with_name("baseline_model_server.py")),
                    str(keras_file),
                    str(baseline_port),
                ],
                logs / "baseline.log",
                env=env,
            )
            processes = [server, gateway, baseline]
            for process in processes:
                process.start()
            server.wait_until(lambda: port_open(grpc_port), 300)
            wait_http(f"http://127.0.0.1:{gateway_port}/health", gateway)
            baseline.wait_until(lambda: port_open(baseline_port), 300)

            systems = {
                "skinguard": (f"http://127.0.0.1:{gateway_port}/predict", "file"),
                "baseline": (f"http://127.0.0.1:{baseline_port}/predict", "file"),
            }
            hit_photo = photos[-1].read_bytes()
            results: dict[tuple[str, str, int], dict[str, float]] = {}
            for name, (url, field) in systems.items():
                asyncio.run(load(url, field, [hit_photo] * 4, 1))  # warm up; caches the hit image
                for index, concurrency in enumerate(LEVELS):
                    batch = [p.read_bytes() for p in photos[index * args.requests : (index + 1) * args.requests]]
                    results[(name, "miss", concurrency)] = asyncio.run(load(url, field, batch, concurrency))
                    results[(name, "hit", concurrency)] = asyncio.run(
                        load(url, field, [hit_photo] * args.requests, concurrency)
                    )
        finally:
            for process in reversed(processes):
                process.stop()
            infra.stop()

    print(f"\ngateway benchmark: {args.requests} requests per row, EfficientNet-Lite0 224 px, real images")
    print(f"{'system':<10} {'case':<5} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for (name, case, concurrency), figures in results.items():
        print(
            f"{name:<10} {case:<5} {concurrency:>4} {figures['rps']:>8.1f} {figures['p50']:>8.1f} "
            f"{figures['p95']:>8.1f} {figures['p99']:>8.1f}"
        )
    print("\nratios (skinguard / baseline): throughput up, p50 latency down")
    for case in ("miss", "hit"):
        for concurrency in LEVELS:
            ours, theirs = results[("skinguard", case, concurrency)], results[("baseline", case, concurrency)]
            print(
                f"  {case:<5} c={concurrency:<3} throughput x{ours['rps'] / theirs['rps']:.2f}   "
                f"p50 x{ours['p50'] / theirs['p50']:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
