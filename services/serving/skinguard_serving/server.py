"""The local model server: TensorFlow Serving's gRPC API over a TensorFlow Serving model repository."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from wsgiref.simple_server import WSGIServer

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from prometheus_client import start_http_server

from skinguard_model_repository.models_config import ConfigError, ModelConfig, read_model_config_file
from skinguard_protos.tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

from .batching import BatchingParameters, parse_batching_parameters
from .grpc_api import ModelService, PredictionService
from .manager import LoadServable, ModelManager
from .metrics import ServingMetrics
from .saved_model import SavedModelServable
from .settings import ServingSettings

log = logging.getLogger(__name__)

SERVICE_NAMES = ("tensorflow.serving.PredictionService", "tensorflow.serving.ModelService")


class ModelServer:
    """Loads the configured models, then serves them until ``stop``; ``start`` returns once listening.

    As TensorFlow Serving does, the gRPC port opens only after the first load of every model
    version found; the gRPC health service says SERVING while every model has an AVAILABLE version.
    """

    def __init__(self, settings: ServingSettings, load_servable: LoadServable = SavedModelServable) -> None:
        self.settings = settings
        self.metrics = ServingMetrics()
        self.manager = ModelManager(
            load_servable, self.metrics, batching=_batching(settings), warmup=settings.enable_model_warmup
        )
        self.grpc_port: int | None = None
        self.metrics_port: int | None = None
        self._health = health.HealthServicer()
        self._grpc = grpc.server(
            ThreadPoolExecutor(max_workers=settings.serving_grpc_max_threads, thread_name_prefix="grpc"),
            options=[
                ("grpc.max_receive_message_length", settings.serving_grpc_max_message_bytes),
                ("grpc.max_send_message_length", settings.serving_grpc_max_message_bytes),
            ],
        )
        prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
            PredictionService(self.manager, self.metrics), self._grpc
        )
        model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(self.manager, self.metrics), self._grpc)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._grpc)
        self._stopping = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="model-poller", daemon=True)
        self._metrics_http: WSGIServer | None = None

    def start(self) -> None:
        self.manager.configure(self._initial_models())
        self.manager.reconcile()
        address = f"{self.settings.serving_host}:{self.settings.serving_grpc_port}"
        self.grpc_port = self._grpc.add_insecure_port(address)
        self._grpc.start()
        if self.settings.serving_metrics_port:
            metrics_http, _ = start_http_server(
                self.settings.serving_metrics_port, self.settings.serving_host, registry=self.metrics.registry
            )
            self._metrics_http = metrics_http
            self.metrics_port = metrics_http.server_port
        self._update_health()
        self._poller.start()
        log.info("model server listening", extra={"grpc_port": self.grpc_port, "metrics_port": self.metrics_port})

    def stop(self, grace_seconds: float = 10.0) -> None:
        """Refuse new calls, finish running ones, unload every model."""
        self._stopping.set()
        self._health.enter_graceful_shutdown()
        self._grpc.stop(grace_seconds).wait()
        if self._poller.is_alive():
            self._poller.join()
        self.manager.close()
        if self._metrics_http is not None:
            self._metrics_http.shutdown()
            self._metrics_http.server_close()
        log.info("model server stopped")

    def _initial_models(self) -> list[ModelConfig]:
        config_file = self.settings.model_config_file
        if config_file is not None and not config_file.exists():  # model-sync creates it
            log.warning("models config %s does not exist yet; no models until it does", config_file)
            return []
        return self._read_models()

    def _read_models(self) -> list[ModelConfig]:
        if self.settings.model_config_file is None:
            return [ModelConfig(self.settings.model_name, self.settings.single_model_base_path)]
        return read_model_config_file(self.settings.model_config_file)

    def _poll(self) -> None:
        config_poll = self.settings.model_config_file_poll_wait_seconds
        next_config_read = time.monotonic() + config_poll
        while not self._stopping.wait(self.settings.file_system_poll_wait_seconds):
            if self.settings.model_config_file is not None and config_poll and time.monotonic() >= next_config_read:
                next_config_read = time.monotonic() + config_poll
                try:
                    self.manager.configure(self._read_models())
                except ConfigError as error:
                    log.error("models config not reloaded, the previous one stays in effect: %s", error)
            try:
                self.manager.reconcile()
            except Exception:  # a broken poll must not end polling; the next one retries
                log.exception("model repository poll failed")
            self._update_health()

    def _update_health(self) -> None:
        serving = health_pb2.HealthCheckResponse
        status = serving.SERVING if self.manager.ready() else serving.NOT_SERVING
        for service in ("", *SERVICE_NAMES):
            self._health.set(service, status)


def _batching(settings: ServingSettings) -> BatchingParameters | None:
    if not settings.enable_batching:
        return None
    if settings.batching_parameters_file is None:
        return BatchingParameters()
    return parse_batching_parameters(settings.batching_parameters_file.read_text())
