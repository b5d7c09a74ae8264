"""The official ``tensorflow-serving-api`` stubs against the local server, in this very process.

Passing here shows both the wire compatibility of the vendored protos and that they coexist with
TensorFlow's and the official stubs' descriptors (protos/README.md).
"""

from __future__ import annotations

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from .helpers import BIASES, DEADLINE, MODEL, images, rpc_error
from .savedmodels import expected_probabilities


def test_official_predict_with_a_label(model_server):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.model_spec.version_label = "canary"
    request.inputs["image"].CopyFrom(tf.make_tensor_proto(images(2)))

    response = prediction_service_pb2_grpc.PredictionServiceStub(model_server.channel).Predict(
        request, timeout=DEADLINE
    )

    assert response.model_spec.version.value == 2
    np.testing.assert_allclose(
        tf.make_ndarray(response.outputs["probabilities"]),
        np.tile(expected_probabilities(BIASES[2]), (2, 1)),
        rtol=1e-6,
    )


def test_official_model_status(model_server):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = MODEL

    response = model_service_pb2_grpc.ModelServiceStub(model_server.channel).GetModelStatus(request, timeout=DEADLINE)

    available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
    assert [(status.version, status.state) for status in response.model_version_status] == [
        (2, available),
        (1, available),
    ]


def test_official_metadata(model_server):
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = MODEL

    response = prediction_service_pb2_grpc.PredictionServiceStub(model_server.channel).GetModelMetadata(
        request, timeout=DEADLINE
    )

    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signatures)
    image = signatures.signature_def["serving_default"].inputs["image"]
    assert image.dtype == tf.uint8.as_datatype_enum
    assert image.name == "serving_default_image:0"


def test_official_classify_is_not_offered(model_server):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = MODEL

    with rpc_error(grpc.StatusCode.UNIMPLEMENTED, ""):
        prediction_service_pb2_grpc.PredictionServiceStub(model_server.channel).Classify(request, timeout=DEADLINE)
