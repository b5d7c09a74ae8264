"""numpy arrays <-> ``tensorflow.TensorProto`` without TensorFlow.

Encodings follow TensorFlow's own: numeric tensors as little-endian ``tensor_content`` (what
``tf.make_tensor_proto`` writes) or in the typed repeated field of their dtype (what TensorFlow
Serving answers with); strings always in ``string_val``. Reading accepts both, and pads a typed
field that holds fewer values than the shape needs with its last value, as TensorFlow does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from skinguard_protos.tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

__all__ = ["TensorConversionError", "data_type_name", "to_ndarray", "to_tensor_proto"]


class TensorConversionError(ValueError):
    """The array or TensorProto has a dtype, shape or content that cannot be converted."""


@dataclass(frozen=True)
class _Codec:
    data_type: int
    dtype: np.dtype
    typed_field: str


_NUMERIC_CODECS = [
    _Codec(types_pb2.DT_FLOAT, np.dtype(np.float32), "float_val"),
    _Codec(types_pb2.DT_DOUBLE, np.dtype(np.float64), "double_val"),
    _Codec(types_pb2.DT_HALF, np.dtype(np.float16), "half_val"),
    _Codec(types_pb2.DT_INT8, np.dtype(np.int8), "int_val"),
    _Codec(types_pb2.DT_INT16, np.dtype(np.int16), "int_val"),
    _Codec(types_pb2.DT_INT32, np.dtype(np.int32), "int_val"),
    _Codec(types_pb2.DT_INT64, np.dtype(np.int64), "int64_val"),
    _Codec(types_pb2.DT_UINT8, np.dtype(np.uint8), "int_val"),
    _Codec(types_pb2.DT_UINT16, np.dtype(np.uint16), "int_val"),
    _Codec(types_pb2.DT_UINT32, np.dtype(np.uint32), "uint32_val"),
    _Codec(types_pb2.DT_UINT64, np.dtype(np.uint64), "uint64_val"),
    _Codec(types_pb2.DT_BOOL, np.dtype(np.bool_), "bool_val"),
]
_BY_DTYPE = {codec.dtype: codec for codec in _NUMERIC_CODECS}
_BY_DATA_TYPE = {codec.data_type: codec for codec in _NUMERIC_CODECS}


def data_type_name(data_type: int) -> str:
    """TensorFlow's short name of a DataType: ``DT_FLOAT`` -> ``float``, ``DT_UINT8`` -> ``uint8``."""
    try:
        return types_pb2.DataType.Name(data_type).removeprefix("DT_").lower()
    except ValueError:  # a number no DataType has
        return f"DataType({data_type})"


def to_tensor_proto(values: ArrayLike, *, typed_fields: bool = False) -> tensor_pb2.TensorProto:
    """Encode an array; numeric data goes to ``tensor_content`` unless ``typed_fields`` is set.

    ``str``/``bytes`` arrays (and object arrays of them) become DT_STRING, ``str`` as UTF-8.
    """
    array = np.asarray(values)
    proto = tensor_pb2.TensorProto()
    proto.tensor_shape.dim.extend(tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in array.shape)
    if array.dtype.kind in "OSU":
        proto.dtype = types_pb2.DT_STRING
        proto.string_val.extend(_as_bytes(item) for item in array.ravel())
        return proto
    codec = _BY_DTYPE.get(array.dtype)
    if codec is None:
        raise TensorConversionError(f"unsupported dtype {array.dtype}")
    proto.dtype = codec.data_type
    if not typed_fields:
        proto.tensor_content = array.astype(codec.dtype.newbyteorder("<"), copy=False).tobytes()
    elif codec.data_type == types_pb2.DT_HALF:
        proto.half_val.extend(array.ravel().view(np.uint16).tolist())
    else:
        getattr(proto, codec.typed_field).extend(array.ravel().tolist())
    return proto


def to_ndarray(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """Decode a TensorProto; DT_STRING gives an object array of ``bytes``."""
    shape = _shape(proto)
    size = math.prod(shape)
    if proto.dtype == types_pb2.DT_STRING:
        return _fill(np.array(list(proto.string_val), dtype=object), size, b"").reshape(shape)
    codec = _BY_DATA_TYPE.get(proto.dtype)
    if codec is None:
        raise TensorConversionError(f"unsupported dtype {data_type_name(proto.dtype)}")
    if proto.tensor_content:
        little_endian = codec.dtype.newbyteorder("<")
        if len(proto.tensor_content) != size * little_endian.itemsize:
            raise TensorConversionError(
                f"tensor_content has {len(proto.tensor_content)} bytes; "
                f"shape {list(shape)} of {data_type_name(proto.dtype)} needs {size * little_endian.itemsize}"
            )
        flat = np.frombuffer(proto.tensor_content, dtype=little_endian).astype(codec.dtype)
        return flat.reshape(shape)
    try:
        if codec.data_type == types_pb2.DT_HALF:
            values = np.array(list(proto.half_val), dtype=np.uint16).view(np.float16)
        else:
            values = np.array(list(getattr(proto, codec.typed_field)), dtype=codec.dtype)
    except OverflowError as error:  # e.g. 300 in int_val of a DT_UINT8 tensor
        raise TensorConversionError(f"a value is out of range for {data_type_name(proto.dtype)}") from error
    return _fill(values, size, codec.dtype.type(0)).reshape(shape)


def _shape(proto: tensor_pb2.TensorProto) -> tuple[int, ...]:
    if proto.tensor_shape.unknown_rank:
        raise TensorConversionError("tensor shape has unknown rank")
    shape = tuple(dim.size for dim in proto.tensor_shape.dim)
    if any(size < 0 for size in shape):
        raise TensorConversionError(f"tensor shape {list(shape)} has an unknown dimension")
    return shape


def _fill(values: np.ndarray, size: int, zero: object) -> np.ndarray:
    """Stretch ``values`` to ``size`` elements: padded with the last value, or zeros if empty."""
    if len(values) == size:
        return values
    if len(values) > size:
        raise TensorConversionError(f"tensor holds {len(values)} values; its shape has {size} elements")
    if len(values) == 0:
        return np.full(size, zero, dtype=values.dtype)
    return np.concatenate([values, np.full(size - len(values), values[-1], dtype=values.dtype)])


def _as_bytes(item: object) -> bytes:
    if isinstance(item, bytes | np.bytes_):
        return bytes(item)
    if isinstance(item, str):
        return item.encode()
    raise TensorConversionError(f"string tensors hold str or bytes, not {type(item).__name__}")
