"""A model version in service: its servable and, with batching on, a scheduler per signature."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import partial
from typing import Protocol

import numpy as np

from skinguard_protos.tensorflow.core.protobuf import meta_graph_pb2
from skinguard_protos.tensorflow_serving.apis import predict_pb2

from .batching import BatchingParameters, BatchScheduler


class Servable(Protocol):
    """A loaded model version; ``saved_model.SavedModelServable`` is the TensorFlow one."""

    @property
    def signature_defs(self) -> Mapping[str, meta_graph_pb2.SignatureDef]: ...

    def run(self, signature_name: str, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def warmup_requests(self) -> list[predict_pb2.PredictRequest]: ...


class LoadedVersion:
    """A servable in service; with batching on, each signature's requests go through a scheduler."""

    def __init__(
        self,
        model: str,
        version: int,
        servable: Servable,
        batching: BatchingParameters | None,
        on_batch: Callable[[int], None] = lambda size: None,
    ) -> None:
        self.model = model
        self.version = version
        self.servable = servable
        self._batching = batching
        self._on_batch = on_batch
        self._schedulers: dict[str, BatchScheduler] = {}
        self._closed = False
        self._lock = threading.Lock()

    def run(
        self, signature_name: str, inputs: Mapping[str, np.ndarray], timeout: float | None
    ) -> dict[str, np.ndarray]:
        scheduler = self._scheduler(signature_name)
        if scheduler is None:
            return self.servable.run(signature_name, inputs)
        return scheduler.submit(inputs, timeout)

    def close(self) -> None:
        """Finish the queued requests and stop the batch threads."""
        with self._lock:
            self._closed = True
            schedulers, self._schedulers = list(self._schedulers.values()), {}
        for scheduler in schedulers:
            scheduler.close()

    def _scheduler(self, signature_name: str) -> BatchScheduler | None:
        """The signature's scheduler; none with batching off or once closed (late requests run alone)."""
        if self._batching is None:
            return None
        with self._lock:
            if self._closed:
                return None
            scheduler = self._schedulers.get(signature_name)
            if scheduler is None:
                scheduler = self._schedulers[signature_name] = BatchScheduler(
                    partial(self.servable.run, signature_name),
                    self._batching,
                    name=f"{self.model}-{self.version}-{signature_name}",
                    on_batch=self._on_batch,
                )
            return scheduler
