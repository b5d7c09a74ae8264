"""Build the classifier a ``TrainingConfig`` asks for.

Every model takes RGB pixels 0-255 (``uint8`` or float) of shape ``(input_size, input_size, 3)``
— exactly what ``to_model_input`` makes — and normalises them inside, the way its base network
was trained, so an exported model needs no preprocessing outside. Its output is the softmax over
``CLASS_NAMES`` (benign, malignant). The layout is: colour constancy (Shades of Gray, unless
the config turns it off) -> normalisation -> base network -> global average pooling -> dropout
-> dense softmax (L2-regularised).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import keras
from keras import ops

from skinguard_contracts.labels import CLASS_NAMES, MALIGNANT
from skinguard_contracts.training_config import ModelType, TrainingConfig

from . import efficientnet_lite
from .targets import MALIGNANT_OUTPUTS, output_count

Normalisation = Literal["unit", "lite", "caffe", "torch", "inside_base"]

# How each base network wants its pixels (keras.applications.*.preprocess_input conventions).
# EfficientNetB0 and MobileNetV3Small rescale inside their own graph, so they take 0-255.
NORMALISATION: dict[ModelType, Normalisation] = {
    "CNN": "unit",
    "EfficientNetLite0": "lite",
    "EfficientNetLite1": "lite",
    "EfficientNetLite2": "lite",
    "ResNet50": "caffe",
    "DenseNet121": "torch",
    "EfficientNetB0": "inside_base",
    "MobileNetV3Small": "inside_base",
}
NORMALISATION_DESCRIPTIONS: dict[Normalisation, str] = {
    "unit": "x / 255",
    "lite": "(x - 127) / 128",
    "caffe": "RGB to BGR, minus the ImageNet mean (103.939, 116.779, 123.68)",
    "torch": "(x / 255 - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225)",
    "inside_base": "the keras.applications network's own rescaling layers (it takes 0-255)",
}
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STDDEV = (0.229, 0.224, 0.225)
_CNN_FILTERS = (32, 64, 128, 256)

_KERAS_APPLICATIONS: dict[ModelType, Callable[..., keras.Model]] = {
    "EfficientNetB0": keras.applications.EfficientNetB0,
    "ResNet50": keras.applications.ResNet50,
    "DenseNet121": keras.applications.DenseNet121,
    "MobileNetV3Small": keras.applications.MobileNetV3Small,
}


@keras.saving.register_keras_serializable(package="skinguard")
class PixelNormalisation(keras.layers.Layer):
    """Turn RGB pixels 0-255 of any dtype into a base network's float input."""

    def __init__(self, style: Normalisation, **kwargs) -> None:
        super().__init__(**kwargs)
        self.style = style

    def call(self, pixels):
        x = ops.cast(pixels, "float32")
        if self.style == "unit":
            return x / 255.0
        if self.style == "lite":
            return (x - efficientnet_lite.PIXEL_MEAN) / efficientnet_lite.PIXEL_SCALE
        if self.style == "caffe":
            return ops.flip(x, axis=-1) - ops.array(_CAFFE_BGR_MEAN)
        if self.style == "torch":
            return (x / 255.0 - ops.array(_TORCH_MEAN)) / ops.array(_TORCH_STDDEV)
        return x

    def get_config(self) -> dict:
        return {**super().get_config(), "style": self.style}


@keras.saving.register_keras_serializable(package="skinguard")
class ShadesOfGray(keras.layers.Layer):
    """Shades of Gray colour constancy (Finlayson and Trezzi 2004) on RGB pixels 0-255.

    The illuminant is each channel's Minkowski ``power``-mean; every channel is scaled so the
    illuminant becomes neutral grey of the same length, then clipped to 0-255. ``power=6`` is
    what the best ISIC challenge entries used (Barata et al. 2014 for dermoscopy). It removes a
    camera's or a lamp's colour cast, one of the ways clinics' photos differ.
    """

    def __init__(self, power: float = 6.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.power = power

    def call(self, pixels):
        x = ops.cast(pixels, "float32")
        # On pixels / 255: 255 ** 6 is near float32's precision limits when averaged.
        illuminant = ops.mean(ops.power(x / 255.0, self.power), axis=(1, 2), keepdims=True) ** (1.0 / self.power)
        illuminant = illuminant / ops.maximum(ops.norm(illuminant, axis=-1, keepdims=True), 1e-6)
        gain = 1.0 / ops.maximum(illuminant * 3.0**0.5, 1e-3)
        return ops.clip(x * gain, 0.0, 255.0)

    def get_config(self) -> dict:
        return {**super().get_config(), "power": self.power}


SHADES_OF_GRAY_POWER = 6.0
# Kept float in the int8 TFLite file (device_models): Shades of Gray, the head, and what the
# exported model does after it (TTA average, calibration).
COLOUR_CONSTANCY_LAYER = "colour_constancy"
HEAD_LAYER = "probabilities"
SERVED_PROBABILITY_SCOPE = "served_probability"


def make_model(config: TrainingConfig, weights_dir: Path | None = None) -> keras.Model:
    """The classifier: input ``image`` (float32, 0-255), output ``probabilities``: ``(batch, 2)``,
    or one per diagnosis with ``label_granularity="diagnosis"`` (``malignant_probability_of``).

    With ``freeze_base`` the base runs in inference mode (BatchNorm statistics frozen) and only
    its top ``trainable_layers`` layers, BatchNorm excepted, are trained with the head.
    """
    shape = (config.input_size, config.input_size, 3)
    inputs = keras.Input(shape, name="image")
    x = inputs
    if config.colour_constancy == "shades_of_gray":
        x = ShadesOfGray(SHADES_OF_GRAY_POWER, name=COLOUR_CONSTANCY_LAYER)(x)
    x = PixelNormalisation(NORMALISATION[config.model_type], name="normalisation")(x)
    base = _make_base(config, shape, weights_dir)
    if config.freeze_base:
        _freeze(base, config.trainable_layers)
        x = base(x, training=False)
    else:
        x = base(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(config.dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(
        output_count(config.label_granularity),
        activation="softmax",
        kernel_regularizer=keras.regularizers.L2(config.l2),
        name=HEAD_LAYER,
    )(x)
    return keras.Model(inputs, outputs, name=f"skinguard_{config.model_type.lower()}")


def malignant_probability_of(outputs):
    """p(malignant) ``(batch,)`` from a head's softmax: its malignant column, or the sum of the
    malignant diagnoses' columns for a diagnosis-level head."""
    if outputs.shape[-1] == len(CLASS_NAMES):
        return outputs[:, MALIGNANT]
    return ops.sum(ops.take(outputs, list(MALIGNANT_OUTPUTS), axis=1), axis=1)


def weights_file(config: TrainingConfig, weights_dir: Path | None) -> Path:
    """The config's weights file inside ``weights_dir``; refused anywhere else (links included)."""
    if weights_dir is None:
        raise ValueError(f"weights {config.weights!r} name a file, but no weights directory is configured")
    directory = weights_dir.resolve()
    path = (directory / config.weights).resolve()
    if not path.is_relative_to(directory) or not path.is_file():
        raise ValueError(f"no weights file {config.weights!r} in the weights directory {weights_dir}")
    return path


def _make_base(config: TrainingConfig, shape: tuple[int, int, int], weights_dir: Path | None) -> keras.Model:
    """The feature extractor, with its ImageNet or file weights loaded."""
    if config.model_type == "CNN":
        base = _skin_cancer_cnn(shape, dropout=config.dropout / 2, l2=config.l2)
    elif config.model_type in efficientnet_lite.LITE_MODEL_TYPES:
        base = efficientnet_lite.efficientnet_lite(config.model_type, shape)
        if config.weights == "imagenet":
            efficientnet_lite.load_imagenet_weights(base, efficientnet_lite.imagenet_weights_path(config.model_type))
    else:
        imagenet = "imagenet" if config.weights == "imagenet" else None
        base = _KERAS_APPLICATIONS[config.model_type](include_top=False, weights=imagenet, input_shape=shape)
    if config.weights not in ("imagenet", "none"):
        base.load_weights(weights_file(config, weights_dir))
    return base


def _skin_cancer_cnn(shape: tuple[int, int, int], *, dropout: float, l2: float) -> keras.Model:
    """The original design's SkinCancerCNN: 4 blocks of conv 3x3, BatchNorm, ReLU, max-pool, dropout."""
    inputs = keras.Input(shape, name="normalised_pixels")
    x = inputs
    for block, filters in enumerate(_CNN_FILTERS, start=1):
        x = keras.layers.Conv2D(
            filters,
            3,
            padding="same",
            use_bias=False,
            kernel_regularizer=keras.regularizers.L2(l2),
            name=f"block{block}_conv",
        )(x)
        x = keras.layers.BatchNormalization(name=f"block{block}_bn")(x)
        x = keras.layers.ReLU(name=f"block{block}_relu")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
        x = keras.layers.Dropout(dropout, name=f"block{block}_dropout")(x)
    return keras.Model(inputs, x, name="skin_cancer_cnn")


def _freeze(base: keras.Model, trainable_layers: int) -> None:
    if not trainable_layers:
        base.trainable = False
        return
    # A model's trainable flag overrides its layers', so the base stays trainable and each layer is set.
    first_trained = len(base.layers) - trainable_layers
    for index, layer in enumerate(base.layers):
        layer.trainable = index >= first_trained and not isinstance(layer, keras.layers.BatchNormalization)
