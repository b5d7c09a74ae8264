"""The vendored protos against the official TensorFlow 2.21 / TensorFlow Serving 2.21 descriptors.

An unchanged file must compile to exactly the official FileDescriptorProto; a trimmed one
(protos/README.md) may only leave declarations out, so every message, enum and method it keeps
must equal the official one. Equal descriptors mean equal wire format.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool

from skinguard_protos._pool import DESCRIPTOR_POOL

PROTOS = Path(__file__).parents[2] / "protos"
VENDORED = sorted(
    str(path.relative_to(PROTOS))
    for root in ("tensorflow", "tensorflow_serving", "xla")
    for path in (PROTOS / root).rglob("*.proto")
)
TRIMMED = {
    "tensorflow/core/protobuf/meta_graph.proto",
    "tensorflow_serving/apis/model_service.proto",
    "tensorflow_serving/apis/prediction_log.proto",
    "tensorflow_serving/apis/prediction_service.proto",
}
# Whole upstream messages a trimmed file keeps only part of: (file, message) -> the fields kept.
PARTLY_KEPT = {("tensorflow_serving/apis/prediction_log.proto", "PredictionLog"): {"log_metadata", "predict_log"}}


# Official modules whose imports register every vendored file in the default pool.
OFFICIAL_MODULES = (
    "tensorflow.core.protobuf.meta_graph_pb2",
    "tensorflow_serving.apis.prediction_service_pb2",
    "tensorflow_serving.apis.model_service_pb2",
    "tensorflow_serving.apis.prediction_log_pb2",
)


def _module(proto: str) -> str:
    return proto.removesuffix(".proto").replace("/", ".") + "_pb2"


@pytest.fixture(scope="module")
def official_pool() -> descriptor_pool.DescriptorPool:
    """The default pool once TensorFlow and the official TensorFlow Serving modules are loaded."""
    for module in OFFICIAL_MODULES:
        importlib.import_module(module)
    return descriptor_pool.Default()


def _file(pool: descriptor_pool.DescriptorPool, proto: str) -> descriptor_pb2.FileDescriptorProto:
    importlib.import_module("skinguard_protos." + _module(proto))
    result = descriptor_pb2.FileDescriptorProto()
    pool.FindFileByName(proto).CopyToProto(result)
    return result


def test_the_expected_files_are_vendored():
    assert TRIMMED <= set(VENDORED)
    assert "tensorflow/core/framework/tensor.proto" in VENDORED


@pytest.mark.parametrize("proto", sorted(set(VENDORED) - TRIMMED))
def test_unchanged_files_equal_the_official_ones(official_pool, proto):
    assert _file(DESCRIPTOR_POOL, proto) == _file(official_pool, proto)


@pytest.mark.parametrize("proto", sorted(TRIMMED))
def test_trimmed_files_keep_official_declarations_unchanged(official_pool, proto):
    ours, official = _file(DESCRIPTOR_POOL, proto), _file(official_pool, proto)
    official_messages = {message.name: message for message in official.message_type}
    official_methods = {
        (service.name, method.name): method for service in official.service for method in service.method
    }

    assert (ours.package, ours.options, ours.syntax) == (official.package, official.options, official.syntax)
    assert set(ours.dependency) <= set(official.dependency)
    for message in ours.message_type:
        kept = PARTLY_KEPT.get((proto, message.name))
        if kept is None:
            assert message == official_messages[message.name]
        else:
            official_fields = {field.name: field for field in official_messages[message.name].field}
            assert {field.name for field in message.field} == kept
            assert all(field == official_fields[field.name] for field in message.field)
    assert {enum.name for enum in ours.enum_type} <= {enum.name for enum in official.enum_type}
    for service in ours.service:
        for method in service.method:
            assert method == official_methods[(service.name, method.name)]


_TENSORFLOW_FIRST = """
import tensorflow
from tensorflow_serving.apis import predict_pb2 as official, prediction_service_pb2, model_service_pb2
from skinguard_protos.tensorflow_serving.apis import predict_pb2 as ours
from skinguard_protos.tensorflow_serving.apis import prediction_service_pb2_grpc, model_service_pb2_grpc
from skinguard_protos.tensorflow_serving.apis import prediction_log_pb2
from skinguard_protos.tensorflow.core.protobuf import meta_graph_pb2
request = ours.PredictRequest(model_spec={"name": "m", "version_label": "stable"})
assert official.PredictRequest.FromString(request.SerializeToString()).model_spec.version_label == "stable"
"""


def test_vendored_protos_load_after_tensorflow_and_the_official_stubs():
    """The model server's situation; the reverse order is this test session's own."""
    subprocess.run([sys.executable, "-c", _TENSORFLOW_FIRST], check=True, timeout=120)
