"""Predict and GetModelMetadata on a loaded version, validated with TensorFlow Serving's messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from skinguard_protos.tensorflow.core.framework import tensor_pb2, tensor_shape_pb2
from skinguard_protos.tensorflow.core.protobuf import meta_graph_pb2
from skinguard_protos.tensorflow_serving.apis import get_model_metadata_pb2, model_pb2, predict_pb2
from skinguard_protos.tensors import TensorConversionError, data_type_name, to_ndarray, to_tensor_proto

from .errors import FailedPrecondition, InvalidArgument
from .servable import LoadedVersion

DEFAULT_SIGNATURE = "serving_default"
SIGNATURE_DEF_FIELD = "signature_def"


def predict(
    loaded: LoadedVersion, request: predict_pb2.PredictRequest, timeout: float | None
) -> predict_pb2.PredictResponse:
    signature_name = request.model_spec.signature_name or DEFAULT_SIGNATURE
    signature = loaded.servable.signature_defs.get(signature_name)
    if signature is None:
        raise FailedPrecondition(f'Serving signature key "{signature_name}" not found.')
    inputs = decode_inputs(signature, request.inputs)
    aliases = select_outputs(signature, request.output_filter)
    outputs = loaded.run(signature_name, inputs, timeout)
    response = predict_pb2.PredictResponse(model_spec=_model_spec(loaded, signature_name))
    for alias in aliases:
        response.outputs[alias].CopyFrom(to_tensor_proto(outputs[alias], typed_fields=True))
    return response


def validate_metadata_request(request: get_model_metadata_pb2.GetModelMetadataRequest) -> None:
    if not request.metadata_field:
        raise InvalidArgument("GetModelMetadataRequest must specify at least one metadata_field")
    for field in request.metadata_field:
        if field != SIGNATURE_DEF_FIELD:
            raise InvalidArgument(f"Metadata field {field} is not supported")


def model_metadata(loaded: LoadedVersion) -> get_model_metadata_pb2.GetModelMetadataResponse:
    signatures = get_model_metadata_pb2.SignatureDefMap()
    for name, signature in loaded.servable.signature_defs.items():
        signatures.signature_def[name].CopyFrom(signature)
    response = get_model_metadata_pb2.GetModelMetadataResponse(model_spec=_model_spec(loaded))
    response.metadata[SIGNATURE_DEF_FIELD].Pack(signatures)
    return response


def decode_inputs(
    signature: meta_graph_pb2.SignatureDef, tensors: Mapping[str, tensor_pb2.TensorProto]
) -> dict[str, np.ndarray]:
    sent, expected = set(tensors), set(signature.inputs)
    if len(sent) != len(expected):
        raise InvalidArgument(
            f"input size does not match signature: {len(sent)}!={len(expected)} len({_set(sent)}) != "
            f"len({_set(expected)}). Sent extra: {_set(sent - expected)}. "
            f"Missing but required: {_set(expected - sent)}."
        )
    positions = {alias: index for index, alias in enumerate(sorted(expected))}
    arrays = {}
    for alias in sorted(sent):
        info = signature.inputs.get(alias)
        if info is None:
            raise InvalidArgument(
                f"input tensor alias not found in signature: {alias}. "
                f"Inputs expected to be in the set {_set(expected)}."
            )
        proto = tensors[alias]
        if proto.dtype != info.dtype:
            raise InvalidArgument(
                f"Expects arg[{positions[alias]}] to be {data_type_name(info.dtype)} "
                f"but {data_type_name(proto.dtype)} is provided"
            )
        try:
            array = to_ndarray(proto)
        except TensorConversionError as error:
            raise InvalidArgument(f"tensor parsing error: {alias}: {error}") from error
        if not _shape_accepts(info.tensor_shape, array.shape):
            raise InvalidArgument(
                f"input tensor {alias} has shape {list(array.shape)}; "
                f"the signature accepts {_shape_text(info.tensor_shape)}"
            )
        arrays[alias] = array
    return arrays


def select_outputs(signature: meta_graph_pb2.SignatureDef, output_filter: Iterable[str]) -> list[str]:
    """The output aliases to return, in request order; all of them when the filter is empty."""
    selected: list[str] = []
    for alias in output_filter:
        if alias not in signature.outputs:
            raise InvalidArgument(
                f"output tensor alias not found in signature: {alias} "
                f"Outputs expected to be in the set {_set(signature.outputs)}."
            )
        if alias in selected:
            raise InvalidArgument(f"duplicate output tensor alias: {alias}")
        selected.append(alias)
    return selected or sorted(signature.outputs)


def _model_spec(loaded: LoadedVersion, signature_name: str = "") -> model_pb2.ModelSpec:
    spec = model_pb2.ModelSpec(name=loaded.model, signature_name=signature_name)
    spec.version.value = loaded.version
    return spec


def _shape_accepts(expected: tensor_shape_pb2.TensorShapeProto, shape: tuple[int, ...]) -> bool:
    if expected.unknown_rank:
        return True
    sizes = [dim.size for dim in expected.dim]
    if len(sizes) != len(shape):
        return False
    return all(size < 0 or size == actual for size, actual in zip(sizes, shape, strict=True))


def _shape_text(shape: tensor_shape_pb2.TensorShapeProto) -> str:
    return "any shape" if shape.unknown_rank else str([dim.size for dim in shape.dim])


def _set(names: Iterable[str]) -> str:
    return "{" + ",".join(sorted(names)) + "}"
