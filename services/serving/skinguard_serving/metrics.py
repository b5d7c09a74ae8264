"""Prometheus metrics of the model server, served on their own HTTP port."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServingMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "skinguard_serving_requests",
            "gRPC requests by API, model, version and status code",
            ["api", "model", "version", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "skinguard_serving_request_duration_seconds",
            "gRPC request latency by API, model and version",
            ["api", "model", "version"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "skinguard_serving_batch_size",
            "Rows per batched model call (before padding)",
            ["model"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.loads = Counter(
            "skinguard_serving_load_attempts",
            "Model version loads (with warmup) by outcome",
            ["model", "status"],
            registry=self.registry,
        )

    def observe_request(self, api: str, model: str, version: str, code: str, seconds: float) -> None:
        self.requests.labels(api, model, version, code).inc()
        self.latency.labels(api, model, version).observe(seconds)
