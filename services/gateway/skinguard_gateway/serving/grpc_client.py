"""``ModelClient`` over TensorFlow Serving's gRPC API, with the vendored ``skinguard_protos`` stubs."""

from __future__ import annotations

import math

import grpc
import numpy as np

from skinguard_contracts.labels import CLASS_NAMES
from skinguard_protos.tensorflow.core.framework import types_pb2
from skinguard_protos.tensorflow.core.protobuf import meta_graph_pb2
from skinguard_protos.tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)
from skinguard_protos.tensors import TensorConversionError, to_ndarray, to_tensor_proto

from ..errors import ModelUnavailable, ServingFailed, ServingTimeout, ServingUnavailable
from .client import SIGNATURE, ModelRef, Prediction, ServedModel

OUTPUT_NAME = "probabilities"
SIGNATURE_DEF_FIELD = "signature_def"
# grpc's reconnect backoff grows to 120 s by default: a restarted model server would stay unused that long.
MAX_RECONNECT_BACKOFF_MS = 5000
_AVAILABLE = get_model_status_pb2.ModelVersionStatus.AVAILABLE
_BUSY = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED)
# In GetModelMetadata these can only be about the model spec: no such model, version or label.
_NO_SUCH_MODEL = (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)


class GrpcModelClient:
    """Every call carries the deadline; messages may be as large as the server allows."""

    def __init__(self, channel: grpc.aio.Channel, *, deadline_seconds: float) -> None:
        self._channel = channel
        self._predictions = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        self._models = model_service_pb2_grpc.ModelServiceStub(channel)
        self._deadline = deadline_seconds

    @classmethod
    def connect(cls, target: str, *, deadline_seconds: float, max_message_bytes: int) -> GrpcModelClient:
        channel = grpc.aio.insecure_channel(
            target,
            options=[
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.max_receive_message_length", max_message_bytes),
                ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
                # Spreads calls over every address a name resolves to (a headless Service's pods).
                ("grpc.lb_policy_name", "round_robin"),
            ],
        )
        return cls(channel, deadline_seconds=deadline_seconds)

    async def describe(self, ref: ModelRef) -> ServedModel:
        request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=[SIGNATURE_DEF_FIELD])
        request.model_spec.name = ref.name
        if ref.version is not None:
            request.model_spec.version.value = ref.version
        elif ref.label:
            request.model_spec.version_label = ref.label
        try:
            response = await self._predictions.GetModelMetadata(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as error:
            if error.code() in _NO_SUCH_MODEL:
                message = f"no version of model {_which(ref)} is being served: {error.details()}"
                raise ModelUnavailable(message) from error
            raise _serving_error(error) from error
        signatures = get_model_metadata_pb2.SignatureDefMap()
        if not response.metadata[SIGNATURE_DEF_FIELD].Unpack(signatures):
            raise ServingFailed("the model server's metadata holds no signature_def map")
        signature = signatures.signature_def.get(SIGNATURE)
        if signature is None:
            raise ServingFailed(f"model {ref.name} has no {SIGNATURE} signature")
        if not response.model_spec.HasField("version"):
            raise ServingFailed(f"the model server did not say which version of model {ref.name} it describes")
        return _served_model(ref.name, response.model_spec.version.value, signature)

    async def predict(self, model: ServedModel, pixels: np.ndarray) -> Prediction:
        request = predict_pb2.PredictRequest(output_filter=[model.output_name])
        _pin(request.model_spec, model)
        request.inputs[model.input_name].CopyFrom(to_tensor_proto(pixels[np.newaxis]))
        try:
            response = await self._predictions.Predict(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                message = f"version {model.version} of model {model.name} is not loaded"
                raise ModelUnavailable(message) from error
            raise _serving_error(error) from error
        answered = response.model_spec.version.value if response.model_spec.HasField("version") else model.version
        return Prediction(version=answered, probabilities=_probabilities(response, model.output_name))

    async def available_versions(self, name: str) -> set[int]:
        request = get_model_status_pb2.GetModelStatusRequest(model_spec=model_pb2.ModelSpec(name=name))
        try:
            response = await self._models.GetModelStatus(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return set()
            raise _serving_error(error) from error
        return {status.version for status in response.model_version_status if status.state == _AVAILABLE}

    async def close(self) -> None:
        await self._channel.close()


def _served_model(name: str, version: int, signature: meta_graph_pb2.SignatureDef) -> ServedModel:
    """Check that the signature is the one training exports: uint8 ``[n, s, s, 3]`` -> float ``[n, 2]``."""
    if len(signature.inputs) != 1:
        raise ServingFailed(f"model {name} version {version} takes {len(signature.inputs)} inputs; expected one image")
    input_name, image = next(iter(signature.inputs.items()))
    sizes = [dim.size for dim in image.tensor_shape.dim]
    square_rgb = len(sizes) == 4 and sizes[1] == sizes[2] > 0 and sizes[3] == 3
    if image.dtype != types_pb2.DT_UINT8 or image.tensor_shape.unknown_rank or not square_rgb:
        raise ServingFailed(
            f"model {name} version {version} takes {types_pb2.DataType.Name(image.dtype)} {sizes}; "
            "the gateway sends uint8 RGB images [n, size, size, 3]"
        )
    output = signature.outputs.get(OUTPUT_NAME)
    if output is None or output.dtype != types_pb2.DT_FLOAT:
        raise ServingFailed(f"model {name} version {version} has no float output {OUTPUT_NAME!r}")
    return ServedModel(name=name, version=version, input_name=input_name, input_size=sizes[1], output_name=OUTPUT_NAME)


def _pin(spec: model_pb2.ModelSpec, model: ServedModel) -> None:
    """Ask for exactly this version: an answer is never from a version the gateway did not expect."""
    spec.name = model.name
    spec.version.value = model.version
    spec.signature_name = SIGNATURE


def _probabilities(response: predict_pb2.PredictResponse, output_name: str) -> tuple[float, float]:
    if output_name not in response.outputs:
        raise ServingFailed(f"the model server's answer has no {output_name!r} output")
    try:
        values = to_ndarray(response.outputs[output_name])
    except TensorConversionError as error:
        raise ServingFailed(f"unreadable {output_name!r} tensor: {error}") from error
    expected = (1, len(CLASS_NAMES))
    if values.shape != expected or values.dtype.kind != "f":
        raise ServingFailed(f"expected {output_name!r} float {list(expected)}, got {values.dtype} {values.shape}")
    benign, malignant = (float(value) for value in values[0])
    in_range = all(0.0 <= p <= 1.0 for p in (benign, malignant))
    if not in_range or not math.isclose(benign + malignant, 1.0, abs_tol=1e-3):
        raise ServingFailed(f"the model answered ({benign}, {malignant}), which are not class probabilities")
    return benign, malignant


def _serving_error(error: grpc.aio.AioRpcError) -> ServingUnavailable | ServingTimeout | ServingFailed:
    code, details = error.code(), error.details()
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ServingTimeout("the model server did not answer in time; retry shortly")
    if code in _BUSY:
        return ServingUnavailable(f"the model server is unavailable ({code.name}: {details}); retry shortly")
    return ServingFailed(f"the model server failed ({code.name}: {details})")


def _which(ref: ModelRef) -> str:
    return f"{ref.name} version {ref.version}" if ref.version is not None else f"{ref.name} (label {ref.label!r})"
