"""The Keras port of EfficientNet-Lite0, -Lite1 and -Lite2 with their offline ImageNet weights.

What the port is checked by: every tensor of each weights file is assigned to exactly one layer
with the right shape (``load_imagenet_weights`` refuses anything else), the parameter counts are
the published 4.7, 5.4 and 6.1 M, and each network with its ImageNet head, at its own
resolution, recognises Grace Hopper's portrait (matplotlib's sample image) as class 652,
"military uniform", as the reference models do.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import keras
import numpy as np
import pytest
from matplotlib import cbook

from skinguard_imaging import to_model_input
from skinguard_training.efficientnet_lite import (
    LITE_MODEL_TYPES,
    efficientnet_lite,
    imagenet_weights_path,
    load_imagenet_weights,
)
from skinguard_training.torch_checkpoint import read_state_dict

MILITARY_UNIFORM = 652
WEIGHTS = imagenet_weights_path("EfficientNetLite0")
# Tensors, parameters (as published) and the resolution each variant was trained at.
VARIANTS = {
    "EfficientNetLite0": (247, 4_694_024, 224),
    "EfficientNetLite1": (322, 5_470_344, 240),
    "EfficientNetLite2": (322, 6_150_168, 260),
}


@pytest.fixture(scope="module")
def imagenet_model() -> keras.Model:
    model = efficientnet_lite("EfficientNetLite0", (224, 224, 3), include_top=True)
    load_imagenet_weights(model, WEIGHTS)
    return model


def grace_hopper(size: int) -> np.ndarray:
    photo = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).read_bytes()
    return (to_model_input(photo, size).astype(np.float32)[None] - 127.0) / 128.0


def test_every_variant_is_listed() -> None:
    assert set(LITE_MODEL_TYPES) == set(VARIANTS)


@pytest.mark.parametrize("model_type", list(VARIANTS))
def test_each_file_holds_one_tensor_per_network_weight_and_recognises_the_uniform(model_type: str) -> None:
    tensor_count, parameters, size = VARIANTS[model_type]
    model = efficientnet_lite(model_type, (size, size, 3), include_top=True)
    load_imagenet_weights(model, imagenet_weights_path(model_type))
    state = read_state_dict(imagenet_weights_path(model_type))
    tensors = {name: value for name, value in state.items() if not name.endswith("num_batches_tracked")}
    assert len(tensors) == len(model.weights) == tensor_count
    assert sum(value.size for value in tensors.values()) == model.count_params() == parameters
    assert model.name == f"efficientnet_lite{model_type[-1]}"
    logits = model.predict(grace_hopper(size), verbose=0)[0]
    assert int(np.argmax(logits)) == MILITARY_UNIFORM


def test_a_variant_refuses_another_variants_weights() -> None:
    lite1 = efficientnet_lite("EfficientNetLite1", (64, 64, 3))
    # Lite1 repeats stage 2's block where Lite0 goes on to stage 3, and has 21 blocks to Lite0's 16.
    with pytest.raises(ValueError) as refused:
        load_imagenet_weights(lite1, WEIGHTS)
    message = str(refused.value)
    assert message.startswith("the EfficientNet-Lite weights in efficientnet-lite0-")
    assert (
        "block3_depthwise_conv: _blocks.3._depthwise_conv.weight has shape (5, 5, 144, 1), the layer (3, 3, 144, 1)"
        in message
    )
    assert "block20_project_conv: no _blocks.20._project_conv.weight in the file" in message


def test_weights_land_in_keras_layout(imagenet_model: keras.Model) -> None:
    state = read_state_dict(WEIGHTS)
    stem = imagenet_model.get_layer("stem_conv").kernel.numpy()
    assert np.array_equal(
        stem[1, 2, 0, 5], state["_conv_stem.weight"][5, 0, 1, 2]
    )  # (out, in, y, x) -> (y, x, in, out)
    depthwise = imagenet_model.get_layer("block3_depthwise_conv").kernel.numpy()
    assert np.array_equal(depthwise[4, 0, 17, 0], state["_blocks.3._depthwise_conv.weight"][17, 0, 4, 0])
    batch_norm = imagenet_model.get_layer("head_bn")
    assert np.array_equal(batch_norm.moving_variance.numpy(), state["_bn1.running_var"])
    assert np.array_equal(imagenet_model.get_layer("predictions").kernel.numpy(), state["_fc.weight"].T)


def test_grace_hopper_is_classified_as_wearing_a_military_uniform(imagenet_model: keras.Model) -> None:
    logits = imagenet_model.predict(grace_hopper(224), verbose=0)[0]
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert int(np.argmax(probabilities)) == MILITARY_UNIFORM
    assert probabilities[MILITARY_UNIFORM] > 0.3


def test_features_of_a_photo_are_sane(imagenet_model: keras.Model) -> None:
    without_top = efficientnet_lite("EfficientNetLite0", (224, 224, 3))
    load_imagenet_weights(without_top, WEIGHTS)
    features = without_top.predict(grace_hopper(224), verbose=0)
    assert features.shape == (1, 7, 7, 1280)
    assert 0 <= features.min() and features.max() <= 6  # ReLU6
    assert 0.05 < (features > 0).mean() < 0.95  # neither dead nor saturated


def test_a_network_that_does_not_match_the_file_is_refused() -> None:
    narrower = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, use_bias=False, name="stem_conv")])
    with pytest.raises(
        ValueError, match=r"stem_conv: _conv_stem.weight has shape \(3, 3, 3, 32\), the layer \(3, 3, 3, 4\)"
    ):
        load_imagenet_weights(narrower, WEIGHTS)
    with_bias = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(32, 3, name="stem_conv")])
    # All 247 tensors but the 2 of the ImageNet classifier, which a network without top does not use.
    with pytest.raises(ValueError, match="stem_conv: has 2 weights, the file 1; 245 tensors of the file have no layer"):
        load_imagenet_weights(with_bias, WEIGHTS)


def test_nothing_is_assigned_when_any_layer_mismatches() -> None:
    partly_right = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(32, 3, use_bias=False, name="stem_conv"),  # matches the file
            keras.layers.Conv2D(4, 1, use_bias=False, name="head_conv"),  # does not
        ]
    )
    before = partly_right.get_layer("stem_conv").kernel.numpy()
    with pytest.raises(ValueError, match="head_conv"):
        load_imagenet_weights(partly_right, WEIGHTS)
    assert np.array_equal(partly_right.get_layer("stem_conv").kernel.numpy(), before)


def test_the_reader_refuses_code_in_a_weights_file(tmp_path: Path) -> None:
    malicious = tmp_path / "evil.pth"
    with malicious.open("wb") as file:
        for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(header, file)
        file.write(b"cos\nsystem\n(S'echo owned'\ntR.")
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load os\.system"):
        read_state_dict(malicious)
