"""The gateway's Prometheus metrics (HTTP request counts and latency come from skinguard_chassis)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.prediction_latency = Histogram(
            "skinguard_gateway_prediction_duration_seconds",
            "Time to answer a prediction, from upload received to answer, by cache outcome",
            ["cached"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.predictions = Counter(
            "skinguard_gateway_predictions_total",
            "Predictions answered, by model version and predicted class",
            ["model_version", "predicted_class"],
            registry=registry,
        )
        self.rejections = Counter(
            "skinguard_gateway_rejections_total",
            "Uploads refused before classification, by reason",
            ["reason"],
            registry=registry,
        )
        self.cache = Counter(
            "skinguard_gateway_cache_lookups_total", "Prediction cache lookups by result", ["result"], registry=registry
        )
        self.redis_errors = Counter(
            "skinguard_gateway_redis_errors_total",
            "Redis calls that failed (the gateway went on without Redis)",
            ["operation"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "skinguard_gateway_rate_limited_total", "Requests refused by the per-client rate limit", registry=registry
        )
        self.serving_latency = Histogram(
            "skinguard_gateway_serving_duration_seconds",
            "gRPC calls to the model server by method",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.serving_errors = Counter(
            "skinguard_gateway_serving_errors_total",
            "Failed gRPC calls to the model server by method and error",
            ["method", "error"],
            registry=registry,
        )
        self.model_version = Gauge(
            "skinguard_gateway_model_version",
            "The model version the gateway serves (0: none)",
            ["model"],
            registry=registry,
        )
        self.prediction_log_failures = Counter(
            "skinguard_gateway_prediction_log_failures_total",
            "Predictions answered but not recorded for monitoring: an error retrying cannot fix, or the "
            "database away at shutdown",
            registry=registry,
        )
        self.prediction_log_dropped = Counter(
            "skinguard_gateway_prediction_log_dropped_total",
            "Predictions answered but not recorded because the log's queue was full (the database too slow or "
            "away for long)",
            registry=registry,
        )
        self.prediction_log_write_errors = Counter(
            "skinguard_gateway_prediction_log_write_errors_total",
            "Failed writes of a batch of prediction log rows (retried while the database is away)",
            registry=registry,
        )
        self.prediction_log_queued = Gauge(
            "skinguard_gateway_prediction_log_queued",
            "Prediction log rows answered and not written yet (queued, or in a write being made or retried)",
            registry=registry,
        )
        self.prediction_log_batch = Histogram(
            "skinguard_gateway_prediction_log_batch_rows",
            "Rows per write of the prediction log",
            buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500),
            registry=registry,
        )
