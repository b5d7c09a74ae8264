"""The real gRPC client against a small PredictionService/ModelService started in-process.

Proves what goes over the wire (model spec with an explicit version, the uint8 image tensor,
the output filter), how answers are read (typed-field tensors, as TensorFlow Serving sends),
how gRPC status codes become the gateway's errors, and that deadlines and message limits hold.
No TensorFlow: the servicer is built on skinguard_protos' generated base classes.
"""

from __future__ import annotations

import asyncio
import time

import grpc
import numpy as np
import pytest
import pytest_asyncio

from skinguard_devstack.processes import free_port
from skinguard_gateway.errors import ModelUnavailable, ServingFailed, ServingTimeout, ServingUnavailable
from skinguard_gateway.serving.client import ModelRef, ServedModel
from skinguard_gateway.serving.grpc_client import GrpcModelClient
from skinguard_protos.tensorflow.core.framework import tensor_shape_pb2, types_pb2
from skinguard_protos.tensorflow.core.protobuf import meta_graph_pb2
from skinguard_protos.tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)
from skinguard_protos.tensors import to_ndarray, to_tensor_proto

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
STABLE = 7


def tensor_info(dtype: int, shape: list[int]) -> meta_graph_pb2.TensorInfo:
    dims = [tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in shape]
    return meta_graph_pb2.TensorInfo(name="x:0", dtype=dtype, tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=dims))


def exported_signature(size: int, input_dtype: int = types_pb2.DT_UINT8) -> meta_graph_pb2.SignatureDef:
    """What skinguard_training.model_export writes: uint8 image [-1, s, s, 3] -> float probabilities [-1, 2]."""
    signature = meta_graph_pb2.SignatureDef(method_name="tensorflow/serving/predict")
    signature.inputs["image"].CopyFrom(tensor_info(input_dtype, [-1, size, size, 3]))
    signature.outputs["probabilities"].CopyFrom(tensor_info(types_pb2.DT_FLOAT, [-1, 2]))
    return signature


class FakeServing(prediction_service_pb2_grpc.PredictionServiceServicer, model_service_pb2_grpc.ModelServiceServicer):
    """Answers as TensorFlow Serving does for one model whose label ``stable`` points to version 7."""

    def __init__(self, input_size: int = 32) -> None:
        self.signature = exported_signature(input_size)
        self.requests: list = []
        self.delay_seconds = 0.0
        self.predict_error: tuple[grpc.StatusCode, str] | None = None
        self.probabilities = np.array([[0.25, 0.75]], dtype=np.float32)

    def _version(self, spec) -> int | None:
        match spec.WhichOneof("version_choice"):
            case "version":
                return spec.version.value
            case "version_label":
                return STABLE if spec.version_label == "stable" else None
        return STABLE

    async def GetModelMetadata(self, request, context):
        self.requests.append(request)
        version = self._version(request.model_spec)
        if request.model_spec.name != "skinguard" or version is None:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version label: beta")
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = version
        signatures = get_model_metadata_pb2.SignatureDefMap()
        signatures.signature_def["serving_default"].CopyFrom(self.signature)
        response.metadata["signature_def"].Pack(signatures)
        return response

    async def Predict(self, request, context):
        self.requests.append(request)
        await asyncio.sleep(self.delay_seconds)
        if self.predict_error is not None:
            await context.abort(*self.predict_error)
        if request.model_spec.version.value != STABLE:
            await context.abort(grpc.StatusCode.NOT_FOUND, "Servable not found for request: Specific(skinguard, 6)")
        response = predict_pb2.PredictResponse()
        response.model_spec.name = "skinguard"
        response.model_spec.version.value = STABLE
        response.model_spec.signature_name = "serving_default"
        response.outputs["probabilities"].CopyFrom(to_tensor_proto(self.probabilities, typed_fields=True))
        return response

    async def GetModelStatus(self, request, context):
        self.requests.append(request)
        statuses = get_model_status_pb2.GetModelStatusResponse()
        for version, state in ((STABLE, "AVAILABLE"), (6, "END")):
            status = statuses.model_version_status.add(version=version)
            status.state = get_model_status_pb2.ModelVersionStatus.State.Value(state)
        return statuses


@pytest_asyncio.fixture
async def serving():
    fake = FakeServing()
    server = grpc.aio.server(
        options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES), ("grpc.max_send_message_length", -1)]
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(fake, server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    target = f"127.0.0.1:{port}"
    client = GrpcModelClient.connect(target, deadline_seconds=2, max_message_bytes=MAX_MESSAGE_BYTES)
    yield fake, client, target
    await client.close()
    await server.stop(grace=None)


def model(version: int = STABLE, size: int = 32) -> ServedModel:
    return ServedModel("skinguard", version, "image", size, "probabilities")


async def test_describe_follows_the_label_and_reads_the_signature(serving) -> None:
    fake, client, _ = serving
    assert await client.describe(ModelRef("skinguard", label="stable")) == model()
    request = fake.requests[-1]
    assert request.model_spec.version_label == "stable" and list(request.metadata_field) == ["signature_def"]

    assert (await client.describe(ModelRef("skinguard", version=STABLE))).version == STABLE
    assert fake.requests[-1].model_spec.version.value == STABLE  # a pinned version is asked for by number


async def test_an_unknown_label_means_no_model_is_served(serving) -> None:
    _, client, _ = serving
    with pytest.raises(ModelUnavailable, match="label 'beta'"):
        await client.describe(ModelRef("skinguard", label="beta"))


async def test_a_signature_the_gateway_cannot_feed_is_refused(serving) -> None:
    fake, client, _ = serving
    fake.signature = exported_signature(32, input_dtype=types_pb2.DT_FLOAT)
    with pytest.raises(ServingFailed, match="DT_FLOAT"):
        await client.describe(ModelRef("skinguard"))


async def test_predict_sends_the_exact_version_and_the_uint8_image(serving) -> None:
    fake, client, _ = serving
    pixels = np.random.default_rng(0).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    prediction = await client.predict(model(), pixels)
    assert prediction.version == STABLE
    assert prediction.probabilities == pytest.approx((0.25, 0.75))

    request: predict_pb2.PredictRequest = fake.requests[-1]
    assert request.model_spec.name == "skinguard"
    assert request.model_spec.WhichOneof("version_choice") == "version"
    assert request.model_spec.version.value == STABLE
    assert request.model_spec.signature_name == "serving_default"
    assert list(request.output_filter) == ["probabilities"]
    image = request.inputs["image"]
    assert image.dtype == types_pb2.DT_UINT8
    assert [dim.size for dim in image.tensor_shape.dim] == [1, 32, 32, 3]
    np.testing.assert_array_equal(to_ndarray(image)[0], pixels)


@pytest.mark.parametrize(
    ("code", "error", "status"),
    [
        (grpc.StatusCode.NOT_FOUND, ModelUnavailable, 503),
        (grpc.StatusCode.UNAVAILABLE, ServingUnavailable, 503),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, ServingUnavailable, 503),
        (grpc.StatusCode.INVALID_ARGUMENT, ServingFailed, 502),
        (grpc.StatusCode.INTERNAL, ServingFailed, 502),
    ],
)
async def test_grpc_status_codes_become_gateway_errors(serving, code, error, status) -> None:
    fake, client, _ = serving
    fake.predict_error = (code, "simulated")
    with pytest.raises(error) as raised:
        await client.predict(model(), np.zeros((32, 32, 3), np.uint8))
    assert raised.value.status_code == status
    if status == 503:
        assert raised.value.headers["Retry-After"]


async def test_a_version_that_is_not_loaded_is_not_found(serving) -> None:
    _, client, _ = serving
    with pytest.raises(ModelUnavailable, match="version 6"):
        await client.predict(model(version=6), np.zeros((32, 32, 3), np.uint8))


@pytest.mark.parametrize("probabilities", [[[0.7, 0.7]], [[0.5, 0.5, 0.0]], [[1.5, -0.5]]])
async def test_answers_that_are_not_class_probabilities_are_refused(serving, probabilities) -> None:
    fake, client, _ = serving
    fake.probabilities = np.array(probabilities, dtype=np.float32)
    with pytest.raises(ServingFailed):
        await client.predict(model(), np.zeros((32, 32, 3), np.uint8))


async def test_every_call_carries_the_deadline(serving) -> None:
    fake, _, target = serving
    fake.delay_seconds = 2
    client = GrpcModelClient.connect(target, deadline_seconds=0.2, max_message_bytes=MAX_MESSAGE_BYTES)
    started = time.perf_counter()
    with pytest.raises(ServingTimeout) as raised:
        await client.predict(model(), np.zeros((32, 32, 3), np.uint8))
    assert raised.value.status_code == 504
    assert time.perf_counter() - started < 1.5
    await client.close()


async def test_an_unreachable_server_is_unavailable() -> None:
    client = GrpcModelClient.connect(
        f"127.0.0.1:{free_port()}", deadline_seconds=2, max_message_bytes=MAX_MESSAGE_BYTES
    )
    with pytest.raises(ServingUnavailable):
        await client.describe(ModelRef("skinguard"))
    with pytest.raises(ServingUnavailable):
        await client.predict(model(), np.zeros((32, 32, 3), np.uint8))
    await client.close()


async def test_images_larger_than_grpcs_default_4_mib_go_through(serving) -> None:
    fake, client, _ = serving
    big = np.full((1400, 1400, 3), 9, dtype=np.uint8)  # 5.9 MB
    assert big.nbytes > 4 * 1024 * 1024
    assert (await client.predict(model(size=1400), big)).version == STABLE
    assert to_ndarray(fake.requests[-1].inputs["image"]).shape == (1, 1400, 1400, 3)


async def test_model_status_lists_the_available_versions(serving) -> None:
    fake, client, _ = serving
    assert await client.available_versions("skinguard") == {STABLE}
    assert fake.requests[-1].model_spec.name == "skinguard"
