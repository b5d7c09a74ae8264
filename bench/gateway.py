"""Gateway benchmark: the bare model, this architecture and the original ``model_server.py``, in one run.

One model (EfficientNet-Lite0 at 224 px, ImageNet weights) is measured three ways:
- bare: the exported SavedModel's ``serving_default`` called in this process on batches of the
  same images, already preprocessed (``to_model_input``), at a few batch sizes: the best
  images/s is what the model itself can do on this machine, with no HTTP, validation or gRPC.
  It runs first and again right after SkinGuard's misses at concurrency 32 (other work on the
  machine comes and goes); the ratio to SkinGuard takes the better of the two;
- SkinGuard: gateway (validation, shared preprocessing, Redis cache, prediction log) -> gRPC ->
  model server (TF Serving API, server-side batching), all as real processes;
- baseline: one FastAPI process, temp file + Keras ``model.predict`` per request
  (``bench/baseline_model_server.py``).
For cache misses (distinct real images) and cache hits (one image repeated) at concurrency 1, 8
and 32 it prints p50/p95/p99 latency and requests/s in one table, then the ratios: SkinGuard
against the baseline, and SkinGuard's misses at concurrency 32 against the bare model's best.
Each row also gives the CPU ms per request of the gateway, of the model server and of the load
generator (a minimal keep-alive HTTP/1.1 client, so that it takes little of the cores it shares
with the servers); the load average is printed before and after each part: other work on the
machine shows there. Figures, not assertions.

    .venv/bin/python bench/gateway.py [--requests 96] [--data ../shared/data/kaggle-mvb]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx
import psutil

from skinguard_devstack.processes import Process, free_port, port_open
from skinguard_devstack.stack import Infrastructure, service_env

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "kaggle-mvb"
LEVELS = (1, 8, 32)
BARE_BATCH_SIZES = (1, 8, 16, 32, 64)
BARE_SECONDS = 4.0  # per batch size, after a warm-up call
MISS_TARGET = 0.90  # gateway misses at concurrency 32 / the bare model's best
BIN = Path(sys.executable).parent
OUTPUT_NAME = "probabilities"


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


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


class BareModel:
    """The exported SavedModel's ``serving_default`` called in this process on batches of photos
    already preprocessed as the gateway does (``prepare_image`` + ``to_model_input``)."""

    def __init__(self, saved_model: Path, photos: list[bytes]) -> None:
        import numpy as np
        import tensorflow as tf

        from skinguard_imaging import ImageLimits, prepare_image, to_model_input

        self._signature = tf.saved_model.load(str(saved_model)).signatures["serving_default"]
        (self._input_name,) = self._signature.structured_input_signature[1]
        size = self._signature.structured_input_signature[1][self._input_name].shape[1]
        pixels = np.stack([to_model_input(prepare_image(data, ImageLimits()).stored_bytes, size) for data in photos])
        self._batches = {
            batch_size: [
                tf.constant(np.resize(pixels[start:], (batch_size, *pixels.shape[1:])))
                for start in range(0, len(pixels), batch_size)
            ]
            for batch_size in BARE_BATCH_SIZES
        }

    def measure(self) -> dict[int, dict[str, float]]:
        """Images/s and CPU ms per image at each batch size."""
        rates: dict[int, dict[str, float]] = {}
        for batch_size, batches in self._batches.items():
            self._run(batches[0])  # warm-up
            images, started, cpu = 0, time.perf_counter(), time.process_time()
            while (elapsed := time.perf_counter() - started) < BARE_SECONDS:
                self._run(batches[images // batch_size % len(batches)])
                images += batch_size
            rates[batch_size] = {"rps": images / elapsed, "model_cpu": (time.process_time() - cpu) * 1000 / images}
        return rates

    def _run(self, batch) -> None:
        self._signature(**{self._input_name: batch})[OUTPUT_NAME].numpy()


def cpu_seconds(process: Process | None) -> float:
    """User + system CPU time of a process (all its threads); of this one (the load generator) for None."""
    times = psutil.Process(process.popen.pid if process and process.popen else None).cpu_times()
    return times.user + times.system


def measured(url: str, payloads: list[bytes], concurrency: int, front: Process | None, model: Process) -> dict:
    """``load``'s figures with the CPU ms per request of the front process, the model's and the client's."""
    roles = {"front_cpu": front, "model_cpu": model, "client_cpu": None}
    before = {role: cpu_seconds(process) for role, process in roles.items() if role == "client_cpu" or process}
    figures = asyncio.run(load(url, "file", payloads, concurrency))
    for role, started in before.items():
        figures[role] = (cpu_seconds(roles[role]) - started) * 1000 / len(payloads)
    return figures


def summarise(latencies: list[float], seconds: float) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000, "rps": len(latencies) / seconds}


def multipart_request(url: str, field: str, payload: bytes) -> bytes:
    """The whole HTTP/1.1 request uploading ``payload`` (multipart, as httpx encodes it), made once
    before the clock starts."""
    request = httpx.Request("POST", url, files={field: ("photo.jpg", payload, "image/jpeg")})
    body = request.read()
    target = httpx.URL(url)
    head = (
        f"POST {target.raw_path.decode()} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
        f"Content-Type: {request.headers['content-type']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    """A minimal keep-alive HTTP/1.1 client: on 2 cores, the load generator's own CPU competes with
    the servers it measures, so it does no more than write a prepared request and read the answer."""

    def __init__(self, url: str) -> None:
        self._address = (httpx.URL(url).host, httpx.URL(url).port)
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, request: bytes) -> int:
        if self._streams is None:
            self._streams = await asyncio.open_connection(*self._address)
        reader, writer = self._streams
        writer.write(request)
        status = int((await reader.readline()).split()[1])
        length, keep_alive = 0, True
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep_alive = False
        await reader.readexactly(length)
        if not keep_alive:
            await self.close()
        return status

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


async def load(url: str, field: str, payloads: list[bytes], concurrency: int) -> dict[str, float]:
    encoded = {id(payload): multipart_request(url, field, payload) for payload in payloads}  # a repeat once
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(encoded[id(payload)])
    latencies: list[float] = []
    failures = 0

    async def worker() -> None:
        nonlocal failures
        connection = Connection(url)
        try:
            while not queue.empty():
                request = queue.get_nowait()
                started = time.perf_counter()
                status = await connection.post(request)
                latencies.append(time.perf_counter() - started)
                failures += status != 200
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
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

    bare: dict[str, dict[int, dict[str, float]]] = {}  # when -> batch size -> figures
    loads: list[tuple[str, str]] = [("start", load_average())]
    with tempfile.TemporaryDirectory(prefix="skinguard-bench-gateway-") as tmp:
        root = Path(tmp)
        print("building and exporting the model ...", flush=True)
        keras_file = build_model(root)
        print("the bare SavedModel, batched, on preprocessed photos ...", flush=True)
        bare_model = BareModel(root / "models" / "skinguard" / "1", [p.read_bytes() for p in photos[: max(LEVELS) * 2]])
        bare["first"] = bare_model.measure()
        loads.append(("after the bare model", load_average()))
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

            systems = {  # url, the process in front of the model (none: the model's own), the model's
                "skinguard": (f"http://127.0.0.1:{gateway_port}/predict", gateway, server),
                "baseline": (f"http://127.0.0.1:{baseline_port}/predict", None, baseline),
            }
            hit_photo = photos[-1].read_bytes()
            results: dict[tuple[str, str, int], dict[str, float]] = {}
            for name, (url, front, model) in systems.items():
                asyncio.run(load(url, "file", [hit_photo] * 4, 1))  # warm up; caches the hit image
                for index, concurrency in enumerate(LEVELS):
                    batch = [p.read_bytes() for p in photos[index * args.requests : (index + 1) * args.requests]]
                    for case, payloads in (("miss", batch), ("hit", [hit_photo] * args.requests)):
                        results[(name, case, concurrency)] = measured(url, payloads, concurrency, front, model)
                    if name == "skinguard" and concurrency == max(LEVELS):
                        # Other work on the machine comes and goes: the bare model again, next to the misses
                        # it is compared with (the ratio takes the better of its two bests).
                        bare["again"] = bare_model.measure()
                loads.append((f"after {name}", load_average()))
        finally:
            for process in reversed(processes):
                process.stop()
            infra.stop()

    best_batch, best = max(
        ((size, figures["rps"]) for round_ in bare.values() for size, figures in round_.items()),
        key=lambda pair: pair[1],
    )
    print(f"\ngateway benchmark: {args.requests} requests per row, EfficientNet-Lite0 224 px, real images")
    print("CPU ms per request: front = the gateway, model = the model server (baseline: its one process), client =")
    print("the load generator (this process); all share the machine's cores. The bare model ran twice: first,")
    print(f"and again right after SkinGuard's misses at concurrency {max(LEVELS)}; the ratios take its best.")
    header = f"{'system':<10} {'case':<9} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    print(f"{header} {'front':>6} {'model':>6} {'client':>6}")
    for when, round_ in bare.items():
        for batch_size, figures in round_.items():
            mark = "  <- best" if (batch_size, figures["rps"]) == (best_batch, best) else ""
            system = "bare" if when == "first" else "bare again"
            print(
                f"{system:<10} {f'batch {batch_size}':<9} {'':>4} {figures['rps']:>8.1f} {'':>8} {'':>8} {'':>8} "
                f"{'':>6} {figures['model_cpu']:>6.1f} {'':>6}{mark}"
            )
    for (name, case, concurrency), figures in results.items():
        front = f"{figures['front_cpu']:>6.1f}" if "front_cpu" in figures else f"{'':>6}"
        print(
            f"{name:<10} {case:<9} {concurrency:>4} {figures['rps']:>8.1f} {figures['p50']:>8.1f} "
            f"{figures['p95']:>8.1f} {figures['p99']:>8.1f} {front} {figures['model_cpu']:>6.1f} "
            f"{figures['client_cpu']:>6.1f}"
        )
    print("\nratios (skinguard / baseline): throughput up, p50 latency down")
    for case in ("miss", "hit"):
        for concurrency in LEVELS:
            ours, theirs = results[("skinguard", case, concurrency)], results[("baseline", case, concurrency)]
            print(
                f"  {case:<5} c={concurrency:<3} throughput x{ours['rps'] / theirs['rps']:.2f}   "
                f"p50 x{ours['p50'] / theirs['p50']:.2f}"
            )
    print(f"\nratios to the bare model's best ({best:.1f} images/s at batch {best_batch}):")
    for name in systems:
        rate = results[(name, "miss", max(LEVELS))]["rps"]
        target = f" (target >= {MISS_TARGET:.2f})" if name == "skinguard" else ""
        print(f"  {name:<10} miss c={max(LEVELS)}: {rate:.1f} req/s = {rate / best:.2f} of bare{target}")
    print("\nmachine load:")
    for when, figure in loads:
        print(f"  {when:<22} {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
