"""numpy <-> TensorProto without TensorFlow, checked against TensorFlow's own conversions."""

from __future__ import annotations

import numpy as np
import pytest

from skinguard_protos.tensorflow.core.framework import tensor_pb2, types_pb2
from skinguard_protos.tensors import TensorConversionError, data_type_name, to_ndarray, to_tensor_proto

NUMERIC_DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64]
NUMERIC_DTYPES += [np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]


@pytest.mark.parametrize("dtype", NUMERIC_DTYPES, ids=lambda dtype: np.dtype(dtype).name)
@pytest.mark.parametrize("typed_fields", [False, True], ids=["tensor_content", "typed_fields"])
def test_numeric_arrays_round_trip(dtype, typed_fields):
    array = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)

    decoded = to_ndarray(to_tensor_proto(array, typed_fields=typed_fields))

    assert decoded.dtype == array.dtype
    np.testing.assert_array_equal(decoded, array)


def test_strings_round_trip_as_bytes():
    proto = to_tensor_proto(np.array([["a", "é"], ["c", ""]]))

    assert proto.dtype == types_pb2.DT_STRING
    assert to_ndarray(proto).tolist() == [[b"a", "é".encode()], [b"c", b""]]


def test_a_short_typed_field_is_padded_with_its_last_value_and_an_empty_one_with_zeros():
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0, 2.0])
    proto.tensor_shape.dim.add(size=4)
    empty = tensor_pb2.TensorProto(dtype=types_pb2.DT_INT64)
    empty.tensor_shape.dim.add(size=3)

    assert to_ndarray(proto).tolist() == [1.0, 2.0, 2.0, 2.0]
    assert to_ndarray(empty).tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("proto", "message"),
    [
        (
            tensor_pb2.TensorProto(
                dtype=types_pb2.DT_UINT8, tensor_content=b"\x00" * 5, tensor_shape={"dim": [{"size": 4}]}
            ),
            "needs 4",
        ),
        (
            tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1, 2, 3], tensor_shape={"dim": [{"size": 2}]}),
            "holds 3",
        ),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape={"unknown_rank": True}), "unknown rank"),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape={"dim": [{"size": -1}]}), "unknown dimension"),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_COMPLEX64), "unsupported dtype complex64"),
        (tensor_pb2.TensorProto(dtype=types_pb2.DT_UINT8, int_val=[300], tensor_shape={"dim": [{"size": 1}]}), "range"),
    ],
    ids=["content-size", "too-many-values", "unknown-rank", "unknown-dimension", "unsupported-dtype", "out-of-range"],
)
def test_malformed_tensors_are_refused(proto, message):
    with pytest.raises(TensorConversionError, match=message):
        to_ndarray(proto)


def test_arrays_of_other_types_are_refused():
    with pytest.raises(TensorConversionError):
        to_tensor_proto(np.array([1 + 2j]))
    with pytest.raises(TensorConversionError):
        to_tensor_proto(np.array([b"a", 1], dtype=object))


def test_data_type_names_follow_tensorflow():
    assert [data_type_name(value) for value in (types_pb2.DT_FLOAT, types_pb2.DT_UINT8, 999)] == [
        "float",
        "uint8",
        "DataType(999)",
    ]


@pytest.mark.parametrize("typed_fields", [False, True], ids=["tensor_content", "typed_fields"])
@pytest.mark.parametrize("dtype", [np.float32, np.uint8, np.int64, np.float16, object])
def test_tensorflow_reads_ours_and_we_read_tensorflows(dtype, typed_fields):
    import tensorflow as tf  # only here: the rest of the module runs without TensorFlow
    from tensorflow.core.framework import tensor_pb2 as tf_tensor_pb2

    array = (
        np.array([[b"x", b"yz"]], dtype=object) if dtype is object else (np.arange(6).reshape(2, 3) * 3).astype(dtype)
    )

    ours = to_tensor_proto(array, typed_fields=typed_fields).SerializeToString()
    theirs = tf.make_tensor_proto(array).SerializeToString()

    np.testing.assert_array_equal(tf.make_ndarray(tf_tensor_pb2.TensorProto.FromString(ours)), array)
    np.testing.assert_array_equal(to_ndarray(tensor_pb2.TensorProto.FromString(theirs)), array)
