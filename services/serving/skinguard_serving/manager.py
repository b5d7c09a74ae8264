"""Which model versions are loaded, and which one answers a request.

Each ``reconcile`` scans every model's base path, loads (and warms up) the versions its policy
wants, and only then unloads the versions it no longer wants, so a model never goes without an
available version during a rollout. A version moves START -> LOADING -> AVAILABLE -> UNLOADING ->
END; a failed load goes to END with its error and is retried only after the directory goes away
and comes back. Ended versions stay listed, as TensorFlow Serving keeps them, until a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from skinguard_model_repository.layout import version_directories
from skinguard_model_repository.models_config import ModelConfig
from skinguard_protos.tensorflow_serving.apis import get_model_status_pb2, model_pb2

from .batching import BatchingParameters
from .errors import InvalidArgument, NotFound, ServingError
from .metrics import ServingMetrics
from .predict import predict
from .servable import LoadedVersion, Servable

log = logging.getLogger(__name__)

State = get_model_status_pb2.ModelVersionStatus.State
LoadServable = Callable[[Path], Servable]


@dataclass
class _Version:
    state: int = State.START
    loaded: LoadedVersion | None = None
    error: ServingError | None = None
    retry_blocked: bool = False  # a failed load waits until the directory goes away


@dataclass
class _Model:
    versions: dict[int, _Version] = field(default_factory=dict)


class ModelManager:
    def __init__(
        self,
        load_servable: LoadServable,
        metrics: ServingMetrics,
        *,
        batching: BatchingParameters | None,
        warmup: bool,
    ) -> None:
        self._load_servable = load_servable
        self._metrics = metrics
        self._batching = batching
        self._warmup = warmup
        self._configs: dict[str, ModelConfig] = {}
        self._models: dict[str, _Model] = {}
        self._lock = threading.Lock()

    def configure(self, configs: Sequence[ModelConfig]) -> None:
        """Serve these models from the next ``reconcile`` on; models left out are unloaded then."""
        with self._lock:
            self._configs = {config.name: config for config in configs}
            for name in self._configs:
                self._models.setdefault(name, _Model())

    def reconcile(self) -> None:
        with self._lock:
            names = list(self._models)
        for name in names:
            self._reconcile_model(name)

    def resolve(self, spec: model_pb2.ModelSpec) -> LoadedVersion:
        """The AVAILABLE version a request's ModelSpec asks for."""
        with self._lock:
            version = self._requested_version(spec)
            if version is None:
                request = f"Latest({spec.name})"
                version = max(self._available(spec.name), default=None)
            else:
                request = f"Specific({spec.name}, {version})"
            record = self._models.get(spec.name, _Model()).versions.get(version) if version is not None else None
            if record is None or record.loaded is None or record.state != State.AVAILABLE:
                raise NotFound(f"Servable not found for request: {request}")
            return record.loaded

    def version_statuses(self, spec: model_pb2.ModelSpec) -> list[get_model_status_pb2.ModelVersionStatus]:
        """GetModelStatus: the asked-for version, or every version seen, newest first."""
        with self._lock:
            versions = self._models.get(spec.name, _Model()).versions
            version = self._requested_version(spec)
            if version is not None:
                if version not in versions:
                    raise NotFound(f"Could not find version {version} of model {spec.name}")
                chosen = {version: versions[version]}
            elif versions:
                chosen = dict(versions)
            else:
                raise NotFound(f"Could not find any versions of model {spec.name}")
            return [_status(number, chosen[number]) for number in sorted(chosen, reverse=True)]

    def is_configured(self, name: str) -> bool:
        with self._lock:
            return name in self._configs

    def ready(self) -> bool:
        """Models are configured, and each has an AVAILABLE version."""
        with self._lock:
            return bool(self._configs) and all(self._available(name) for name in self._configs)

    def close(self) -> None:
        """Unload every version (finishing queued requests)."""
        with self._lock:
            self._configs = {}
        self.reconcile()

    def _requested_version(self, spec: model_pb2.ModelSpec) -> int | None:
        if not spec.name:
            raise InvalidArgument("ModelSpec has no name specified.")
        match spec.WhichOneof("version_choice"):
            case "version":
                return spec.version.value
            case "version_label":
                config = self._configs.get(spec.name)
                if config is None or spec.version_label not in config.labels:
                    raise InvalidArgument(f"Unrecognized servable version label: {spec.version_label}")
                return config.labels[spec.version_label]
        return None

    def _available(self, name: str) -> list[int]:
        versions = self._models.get(name, _Model()).versions
        return [number for number, record in versions.items() if record.state == State.AVAILABLE]

    def _reconcile_model(self, name: str) -> None:
        with self._lock:
            config = self._configs.get(name)
            versions = self._models[name].versions
        wanted = config.policy.select(version_directories(config.base_path)) if config else set()
        for number, record in versions.items():
            if number not in wanted and record.state == State.END:
                record.retry_blocked = False
        to_load = [
            number
            for number in sorted(wanted, reverse=True)
            if number not in versions or (versions[number].state == State.END and not versions[number].retry_blocked)
        ]
        with self._lock:
            for number in to_load:
                versions[number] = _Version(state=State.START)
        for number in to_load:
            assert config is not None  # only a configured model wants versions
            self._load(config, number)
        with self._lock:
            keep_serving = bool(wanted) and not (wanted & set(self._available(name)))
            unwanted = [number for number in self._available(name) if number not in wanted]
        if keep_serving:
            return  # no wanted version loaded (yet): the current ones keep answering
        for number in unwanted:
            self._unload(name, number)

    def _load(self, config: ModelConfig, number: int) -> None:
        record = self._models[config.name].versions[number]
        with self._lock:
            record.state = State.LOADING
        log.info("loading model %s version %d", config.name, number)
        loaded = None
        try:
            servable = self._load_servable(config.base_path / str(number))
            loaded = LoadedVersion(
                config.name,
                number,
                servable,
                self._batching,
                on_batch=self._metrics.batch_size.labels(config.name).observe,
            )
            if self._warmup:
                for request in servable.warmup_requests():
                    predict(loaded, request, timeout=None)
        except Exception as error:  # any failure ends this version, with the reason in its status
            log.exception("loading model %s version %d failed", config.name, number)
            if loaded is not None:
                loaded.close()
            self._metrics.loads.labels(config.name, "fail").inc()
            with self._lock:
                record.state, record.retry_blocked = State.END, True
                record.error = _as_serving_error(error)
            return
        self._metrics.loads.labels(config.name, "ok").inc()
        with self._lock:
            record.state, record.loaded = State.AVAILABLE, loaded
        log.info("model %s version %d is available", config.name, number)

    def _unload(self, name: str, number: int) -> None:
        with self._lock:
            record = self._models[name].versions[number]
            record.state = State.UNLOADING
            loaded, record.loaded = record.loaded, None
        log.info("unloading model %s version %d", name, number)
        if loaded is not None:
            loaded.close()
        with self._lock:
            record.state = State.END


def _as_serving_error(error: Exception) -> ServingError:
    if isinstance(error, ServingError):
        return error
    return ServingError(f"{type(error).__name__}: {error}", grpc.StatusCode.UNKNOWN)


def _status(number: int, record: _Version) -> get_model_status_pb2.ModelVersionStatus:
    status = get_model_status_pb2.ModelVersionStatus(version=number, state=record.state)
    status.status.SetInParent()  # error_code OK, as TensorFlow Serving reports a healthy version
    if record.error is not None:
        status.status.error_code = record.error.code.value[0]
        status.status.error_message = record.error.message
    return status
