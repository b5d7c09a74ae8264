"""The local model server over gRPC with the skinguard_protos stubs: answers, errors, batching."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from skinguard_protos.tensorflow.core.framework import types_pb2
from skinguard_protos.tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2, predict_pb2
from skinguard_protos.tensors import to_ndarray, to_tensor_proto

from .helpers import BIASES, DEADLINE, MODEL, State, images, predict_request, rpc_error
from .savedmodels import expected_probabilities


def probabilities(response: predict_pb2.PredictResponse) -> np.ndarray:
    return to_ndarray(response.outputs["probabilities"])


def test_the_newest_version_answers_by_default(model_server):
    response = model_server.prediction.Predict(predict_request(inputs={"image": images(3)}), timeout=DEADLINE)

    assert (response.model_spec.name, response.model_spec.version.value) == (MODEL, 2)
    assert response.model_spec.signature_name == "serving_default"
    np.testing.assert_allclose(probabilities(response), np.tile(expected_probabilities(BIASES[2]), (3, 1)), rtol=1e-6)


@pytest.mark.parametrize(
    ("choice", "version"),
    [({"version": 1}, 1), ({"version": 2}, 2), ({"label": "stable"}, 1), ({"label": "canary"}, 2)],
)
def test_a_version_or_label_chooses_the_version(model_server, choice, version):
    response = model_server.prediction.Predict(predict_request(**choice), timeout=DEADLINE)

    assert response.model_spec.version.value == version
    np.testing.assert_allclose(probabilities(response)[0], expected_probabilities(BIASES[version]), rtol=1e-6)


def test_status_lists_every_version_newest_first(model_server):
    response = model_server.models.GetModelStatus(
        get_model_status_pb2.GetModelStatusRequest(model_spec={"name": MODEL}), timeout=DEADLINE
    )

    assert [(status.version, status.state) for status in response.model_version_status] == [
        (2, State.AVAILABLE),
        (1, State.AVAILABLE),
    ]
    assert all(status.HasField("status") and status.status.error_code == 0 for status in response.model_version_status)


def test_status_of_a_label_is_its_version(model_server):
    request = get_model_status_pb2.GetModelStatusRequest(model_spec={"name": MODEL, "version_label": "stable"})

    response = model_server.models.GetModelStatus(request, timeout=DEADLINE)

    assert [status.version for status in response.model_version_status] == [1]


def test_metadata_reports_the_signatures(model_server):
    request = get_model_metadata_pb2.GetModelMetadataRequest(
        model_spec={"name": MODEL, "version_label": "stable"}, metadata_field=["signature_def"]
    )

    response = model_server.prediction.GetModelMetadata(request, timeout=DEADLINE)

    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signatures)
    serving = signatures.signature_def["serving_default"]
    assert response.model_spec.version.value == 1
    assert serving.method_name == "tensorflow/serving/predict"
    assert serving.inputs["image"].dtype == types_pb2.DT_UINT8
    assert [dim.size for dim in serving.inputs["image"].tensor_shape.dim] == [-1, 32, 32, 3]
    assert serving.outputs["probabilities"].dtype == types_pb2.DT_FLOAT


def _float_images() -> predict_pb2.PredictRequest:
    return predict_request(inputs={"image": images(1).astype(np.float32)})


def _truncated_tensor() -> predict_pb2.PredictRequest:
    request = predict_request()
    request.inputs["image"].tensor_content = request.inputs["image"].tensor_content[:-1]
    return request


def _unknown_output() -> predict_pb2.PredictRequest:
    request = predict_request()
    request.output_filter.append("logits")
    return request


@pytest.mark.parametrize(
    ("request_", "code", "details"),
    [
        (predict_request("nope"), grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(nope)"),
        (
            predict_request(version=7),
            grpc.StatusCode.NOT_FOUND,
            f"Servable not found for request: Specific({MODEL}, 7)",
        ),
        (predict_request(label="beta"), grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version label: beta"),
        (predict_pb2.PredictRequest(), grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec"),
        (_float_images(), grpc.StatusCode.INVALID_ARGUMENT, "Expects arg[0] to be uint8 but float is provided"),
        (
            predict_request(inputs={"image": np.zeros((1, 16, 16, 3), np.uint8)}),
            grpc.StatusCode.INVALID_ARGUMENT,
            "input tensor image has shape [1, 16, 16, 3]; the signature accepts [-1, 32, 32, 3]",
        ),
        (
            predict_request(inputs={}),
            grpc.StatusCode.INVALID_ARGUMENT,
            "input size does not match signature: 0!=1 len({}) != len({image}). Sent extra: {}. "
            "Missing but required: {image}.",
        ),
        (
            predict_request(inputs={"img": images(1)}),
            grpc.StatusCode.INVALID_ARGUMENT,
            "input tensor alias not found in signature: img. Inputs expected to be in the set {image}.",
        ),
        (_truncated_tensor(), grpc.StatusCode.INVALID_ARGUMENT, "tensor parsing error: image"),
        (_unknown_output(), grpc.StatusCode.INVALID_ARGUMENT, "output tensor alias not found in signature: logits"),
        (
            predict_request(signature="classify"),
            grpc.StatusCode.FAILED_PRECONDITION,
            'Serving signature key "classify" not found.',
        ),
    ],
    ids=[
        "unknown-model",
        "unknown-version",
        "unknown-label",
        "no-model-spec",
        "wrong-dtype",
        "wrong-shape",
        "missing-input",
        "wrong-input-name",
        "corrupt-tensor",
        "unknown-output",
        "unknown-signature",
    ],
)
def test_bad_predict_requests_fail_as_tensorflow_serving_fails_them(model_server, request_, code, details):
    with rpc_error(code, details):
        model_server.prediction.Predict(request_, timeout=DEADLINE)


@pytest.mark.parametrize(
    ("spec", "code", "details"),
    [
        ({"name": "nope"}, grpc.StatusCode.NOT_FOUND, "Could not find any versions of model nope"),
        (
            {"name": MODEL, "version": {"value": 7}},
            grpc.StatusCode.NOT_FOUND,
            f"Could not find version 7 of model {MODEL}",
        ),
        ({"name": MODEL, "version_label": "beta"}, grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version"),
    ],
)
def test_status_of_unknown_models_and_versions(model_server, spec, code, details):
    with rpc_error(code, details):
        model_server.models.GetModelStatus(
            get_model_status_pb2.GetModelStatusRequest(model_spec=spec), timeout=DEADLINE
        )


def test_metadata_needs_the_signature_def_field(model_server):
    request = get_model_metadata_pb2.GetModelMetadataRequest(model_spec={"name": MODEL})

    with rpc_error(grpc.StatusCode.INVALID_ARGUMENT, "must specify at least one metadata_field"):
        model_server.prediction.GetModelMetadata(request, timeout=DEADLINE)


def test_concurrent_requests_share_model_calls(model_server):
    calls_before = model_server.call_count(version=1)
    rows = [1 + index % 3 for index in range(16)]

    def predict(count: int) -> predict_pb2.PredictResponse:
        request = predict_request(version=1, inputs={"image": images(count)})
        return model_server.prediction.Predict(request, timeout=DEADLINE)

    with ThreadPoolExecutor(len(rows)) as pool:
        responses = list(pool.map(predict, rows))

    model_calls = model_server.call_count(version=1) - calls_before
    assert 1 <= model_calls < len(rows)
    for count, response in zip(rows, responses, strict=True):
        np.testing.assert_allclose(
            probabilities(response), np.tile(expected_probabilities(BIASES[1]), (count, 1)), rtol=1e-6
        )


def test_requests_above_4_mib_and_max_batch_size_are_served(model_server):
    many = images(1500)  # 4.6 MB, split into batches of at most 64 rows
    request = predict_request(version=1, inputs={"image": many})

    response = model_server.prediction.Predict(request, timeout=DEADLINE)

    assert probabilities(response).shape == (1500, 2)


def test_health_is_serving_once_models_are_available(model_server):
    response = health_pb2_grpc.HealthStub(model_server.channel).Check(
        health_pb2.HealthCheckRequest(service="tensorflow.serving.PredictionService"), timeout=DEADLINE
    )

    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_metrics_count_requests_by_model_version_and_status(model_server):
    model_server.prediction.Predict(predict_request(version=2), timeout=DEADLINE)
    with pytest.raises(grpc.RpcError):
        model_server.prediction.Predict(predict_request(version=7), timeout=DEADLINE)

    url = f"http://127.0.0.1:{model_server.server.metrics_port}/monitoring/prometheus/metrics"
    with urllib.request.urlopen(url, timeout=DEADLINE) as response:
        metrics = response.read().decode()

    assert f'skinguard_serving_requests_total{{api="Predict",code="OK",model="{MODEL}",version="2"}}' in metrics
    assert f'skinguard_serving_requests_total{{api="Predict",code="NOT_FOUND",model="{MODEL}",version=""}}' in metrics
    assert 'skinguard_serving_request_duration_seconds_bucket{api="Predict"' in metrics
    assert "skinguard_serving_batch_size_count" in metrics


def test_tensor_helpers_read_typed_field_responses(model_server):
    request = predict_request(version=2)
    request.inputs["image"].CopyFrom(to_tensor_proto(images(2), typed_fields=True))

    response = model_server.prediction.Predict(request, timeout=DEADLINE)

    assert len(response.outputs["probabilities"].float_val) == 4  # the server answers in typed fields
    assert probabilities(response).shape == (2, 2)
