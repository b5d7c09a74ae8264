"""Constants and helpers shared by the serving tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import numpy as np
import pytest

from skinguard_protos.tensorflow_serving.apis import (
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)
from skinguard_protos.tensors import to_ndarray, to_tensor_proto

if TYPE_CHECKING:
    from skinguard_serving.server import ModelServer

IMAGE_SHAPE = (32, 32, 3)

MODEL = "skin_lesion"
BIASES = {1: 1.0, 2: 2.0, 3: 3.0}  # version -> the logit that makes its answers recognisable
DEADLINE = 10.0  # seconds; every test RPC carries it
State = get_model_status_pb2.ModelVersionStatus.State


@dataclass
class RunningServer:
    server: ModelServer
    channel: grpc.Channel
    repository: Path

    @property
    def prediction(self) -> prediction_service_pb2_grpc.PredictionServiceStub:
        return prediction_service_pb2_grpc.PredictionServiceStub(self.channel)

    @property
    def models(self) -> model_service_pb2_grpc.ModelServiceStub:
        return model_service_pb2_grpc.ModelServiceStub(self.channel)

    def statuses(self, model: str = MODEL) -> list[tuple[int, int]]:
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = model
        response = self.models.GetModelStatus(request, timeout=DEADLINE)
        return [(status.version, status.state) for status in response.model_version_status]

    def call_count(self, version: int) -> int:
        """How many times ``serving_default`` of ``version`` has run, as the model counts."""
        request = predict_request(version=version, signature="call_count", inputs={"rows": np.zeros(1, np.int64)})
        return int(to_ndarray(self.prediction.Predict(request, timeout=DEADLINE).outputs["calls"])[0])


def images(rows: int) -> np.ndarray:
    return np.random.default_rng(rows).integers(0, 256, (rows, *IMAGE_SHAPE), dtype=np.uint8)


def predict_request(
    model: str = MODEL,
    *,
    version: int | None = None,
    label: str | None = None,
    signature: str = "",
    inputs: dict[str, np.ndarray] | None = None,
) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    for name, array in (inputs if inputs is not None else {"image": images(2)}).items():
        request.inputs[name].CopyFrom(to_tensor_proto(array))
    return request


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


@contextmanager
def rpc_error(code: grpc.StatusCode, details: str) -> Iterator[None]:
    """Expect the block's RPC to fail with ``code`` and a message containing ``details``."""
    with pytest.raises(grpc.RpcError) as raised:
        yield
    assert raised.value.code() == code, raised.value.details()
    assert details in raised.value.details()
