"""A tiny ONNX model with the on-device contract (uint8 ``image`` (N, 8, 8, 3) in, ``probabilities``
(N, 2) out) for the TypeScript SDK's offline DeviceClassifier tests:

    .venv/bin/python tests/clients/tiny_onnx.py  # writes clients/typescript/test/fixtures/tiny.onnx

probabilities = softmax(mean RGB / 255 @ WEIGHTS + BIAS); test/device.test.ts computes the same.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUTPUT = Path(__file__).resolve().parents[2] / "clients/typescript/test/fixtures/tiny.onnx"
SIZE = 8
WEIGHTS = np.array([[-4.0, 4.0], [2.0, -2.0], [1.0, -1.0]], dtype=np.float32)  # dark red -> malignant
BIAS = np.array([0.5, -0.5], dtype=np.float32)


def build() -> bytes:
    nodes = [
        helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["pixels"], ["mean"], axes=[1, 2], keepdims=0),
        helper.make_node("Div", ["mean", "scale"], ["unit"]),
        helper.make_node("MatMul", ["unit", "weights"], ["product"]),
        helper.make_node("Add", ["product", "bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_skinguard",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        initializer=[
            numpy_helper.from_array(np.array(255.0, dtype=np.float32), "scale"),
            numpy_helper.from_array(WEIGHTS, "weights"),
            numpy_helper.from_array(BIAS, "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="skinguard-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def main() -> None:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT
    output.write_bytes(build())
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
