from __future__ import annotations

from typing import get_args

import keras
import numpy as np
import pytest

from skinguard_contracts.training_config import ModelType, TrainingConfig
from skinguard_training.efficientnet_lite import imagenet_weights_path
from skinguard_training.networks import PixelNormalisation, ShadesOfGray, make_model, malignant_probability_of
from skinguard_training.torch_checkpoint import read_state_dict

_PIXELS = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("model_type", get_args(ModelType))
def test_every_model_type_maps_uint8_pixels_to_two_probabilities(model_type: str) -> None:
    model = make_model(TrainingConfig(model_type=model_type, weights="none", input_size=32))
    probabilities = keras.ops.convert_to_numpy(model(_PIXELS))
    assert probabilities.shape == (2, 2)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert model.input_shape == (None, 32, 32, 3)
    assert model.get_layer("normalisation") is not None


@pytest.mark.parametrize("model_type", ["EfficientNetLite1", "EfficientNetLite2"])
def test_the_larger_lite_variants_start_from_their_own_imagenet_weights(model_type: str) -> None:
    model = make_model(TrainingConfig(model_type=model_type, input_size=32))
    base = model.get_layer(f"efficientnet_lite{model_type[-1]}")
    state = read_state_dict(imagenet_weights_path(model_type))
    assert np.array_equal(base.get_layer("head_bn").moving_variance.numpy(), state["_bn1.running_var"])
    assert np.array_equal(
        base.get_layer("block20_project_conv").kernel.numpy()[0, 0],
        state["_blocks.20._project_conv.weight"][:, :, 0, 0].T,
    )


def test_the_cnn_has_four_conv_blocks_of_growing_width() -> None:
    base = make_model(TrainingConfig(model_type="CNN", input_size=32)).get_layer("skin_cancer_cnn")
    convolutions = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.filters for layer in convolutions] == [32, 64, 128, 256]
    assert sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in base.layers) == 4


def test_a_frozen_base_trains_only_its_top_layers_and_never_batchnorm() -> None:
    config = TrainingConfig(
        model_type="EfficientNetLite0", weights="imagenet", input_size=32, freeze_base=True, trainable_layers=6
    )
    model = make_model(config)
    base = model.get_layer("efficientnet_lite0")
    trained_base_layers = {layer.name for layer in base.layers if layer.trainable_weights}
    assert trained_base_layers == {"head_conv", "block15_project_conv"}  # the top 6: conv, BN, ReLU6 each twice
    assert all(
        not layer.trainable_weights for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)
    )
    assert {weight.path.split("/")[0] for weight in model.trainable_weights} == {*trained_base_layers, "probabilities"}


def test_a_frozen_base_without_trainable_layers_leaves_only_the_head() -> None:
    model = make_model(
        TrainingConfig(model_type="EfficientNetLite0", weights="imagenet", input_size=32, freeze_base=True)
    )
    assert [weight.path for weight in model.trainable_weights] == ["probabilities/kernel", "probabilities/bias"]


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("unit", [[0.0, 127 / 255, 1.0]]),
        ("lite", [[-127 / 128, 0.0, 128 / 128]]),
        ("caffe", [[255 - 103.939, 127 - 116.779, 0 - 123.68]]),
        ("torch", [[(0 - 0.485) / 0.229, (127 / 255 - 0.456) / 0.224, (1 - 0.406) / 0.225]]),
        ("inside_base", [[0.0, 127.0, 255.0]]),
    ],
)
def test_pixel_normalisation_per_base(style: str, expected: list) -> None:
    pixel = np.array([[[[0, 127, 255]]]], dtype=np.uint8)
    normalised = keras.ops.convert_to_numpy(PixelNormalisation(style)(pixel))
    assert normalised.reshape(1, 3) == pytest.approx(np.array(expected), abs=1e-4)


def shades_of_gray_reference(image: np.ndarray, power: float = 6.0) -> np.ndarray:
    """Shades of Gray as published for dermoscopy (Barata et al. 2014), written out in numpy."""
    pixels = image.astype(np.float64)
    illuminant = np.power(np.mean(np.power(pixels, power), axis=(0, 1)), 1 / power)
    illuminant /= np.sqrt(np.sum(illuminant**2))
    return np.clip(pixels / (illuminant * np.sqrt(3)), 0, 255)


def test_shades_of_gray_matches_the_published_formula_and_removes_a_colour_cast() -> None:
    rng = np.random.default_rng(2)
    image = rng.integers(20, 200, (16, 16, 3)).astype(np.uint8)
    layer = ShadesOfGray(6.0)
    corrected = keras.ops.convert_to_numpy(layer(image[None]))[0]
    assert corrected == pytest.approx(shades_of_gray_reference(image), abs=1e-2)
    # The same scene under a warmer lamp (per-channel gains) comes out the same.
    cast = np.clip(image * np.array([1.2, 1.0, 0.7]), 0, 255).astype(np.uint8)
    recast = keras.ops.convert_to_numpy(layer(cast[None]))[0]
    assert np.abs(recast - corrected).mean() < 1.5
    # A grey-balanced image is left as it is.
    grey = np.full((4, 4, 3), 90, np.uint8)
    assert keras.ops.convert_to_numpy(layer(grey[None]))[0] == pytest.approx(grey.astype(np.float32), abs=1e-3)


def test_colour_constancy_is_inside_the_model_unless_turned_off() -> None:
    with_it = make_model(TrainingConfig(model_type="CNN", input_size=32))
    without = make_model(TrainingConfig(model_type="CNN", input_size=32, colour_constancy="none"))
    assert isinstance(with_it.get_layer("colour_constancy"), ShadesOfGray)
    assert "colour_constancy" not in [layer.name for layer in without.layers]


def test_a_diagnosis_head_sums_its_malignant_diagnoses() -> None:
    model = make_model(TrainingConfig(model_type="CNN", input_size=32, label_granularity="diagnosis"))
    outputs = keras.ops.convert_to_numpy(model(_PIXELS))
    assert outputs.shape == (2, 7)
    # nv, mel, bkl, bcc, akiec, df, vasc: mel, bcc and akiec are malignant.
    expected = outputs[:, 1] + outputs[:, 3] + outputs[:, 4]
    assert keras.ops.convert_to_numpy(malignant_probability_of(outputs)) == pytest.approx(expected)
    two = np.array([[0.3, 0.7]], np.float32)
    assert keras.ops.convert_to_numpy(malignant_probability_of(two)) == pytest.approx([0.7])


def test_weights_files_are_read_from_the_weights_directory_only(tmp_path) -> None:
    from skinguard_training.networks import weights_file

    weights_dir = tmp_path / "weights"
    weights_dir.mkdir()
    trained = make_model(TrainingConfig(model_type="CNN", input_size=32)).get_layer("skin_cancer_cnn")
    trained.save_weights(weights_dir / "cnn.weights.h5")
    config = TrainingConfig(model_type="CNN", input_size=32, weights="cnn.weights.h5")
    loaded = make_model(config, weights_dir).get_layer("skin_cancer_cnn")
    assert all(np.array_equal(a, b) for a, b in zip(trained.get_weights(), loaded.get_weights(), strict=True))
    # A link out of the directory is no way around it.
    (tmp_path / "elsewhere.weights.h5").write_bytes((weights_dir / "cnn.weights.h5").read_bytes())
    (weights_dir / "link.weights.h5").symlink_to(tmp_path / "elsewhere.weights.h5")
    with pytest.raises(ValueError, match=r"no weights file 'link\.weights\.h5'"):
        weights_file(TrainingConfig(model_type="CNN", weights="link.weights.h5"), weights_dir)
    with pytest.raises(ValueError, match="no weights directory"):
        make_model(config)
