from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from skinguard_contracts.training_config import TrainingConfig


def test_defaults_are_the_generalising_recipe_and_json_round_trips() -> None:
    config = TrainingConfig()
    assert (config.model_type, config.weights, config.freeze_base) == ("EfficientNetLite0", "imagenet", False)
    assert (config.optimizer, config.learning_rate_schedule, config.colour_constancy) == (
        "adamw",
        "cosine",
        "shades_of_gray",
    )
    assert (config.target_sensitivity, config.decision_threshold, config.calibration) == (0.95, None, "auto")
    assert config.sensitivity_per_diagnosis
    assert config.rotate_any_angle and config.min_crop_area < 1 < config.max_crop_area
    assert TrainingConfig.model_validate_json(config.model_dump_json()) == config


def test_a_cnn_without_weights_named_defaults_to_no_weights() -> None:
    assert TrainingConfig(model_type="CNN").weights == "none"
    assert TrainingConfig(model_type="ResNet50").weights == "imagenet"


@pytest.mark.parametrize(
    "fields",
    [
        {"model_type": "EfficientNetLite0", "weights": "imagenet", "freeze_base": True, "trainable_layers": 20},
        {"model_type": "ResNet50", "weights": "resnet50_notop.weights.h5", "freeze_base": True},
        {"model_type": "MobileNetV3Small", "optimizer": "sgd", "input_size": 32, "batch_size": 1},
        {"label_granularity": "diagnosis", "max_crop_area": 2.0, "test_time_augmentation": "dihedral"},
        {"decision_threshold": 0.3, "calibration": "none", "learning_rate_schedule": "constant"},
        {"use_focal_loss": True, "use_class_weights": True, "focal_gamma": 0, "focal_alpha": 0.5},
        {"monitor": "val_loss", "early_stopping_patience": 0, "reduce_lr_patience": 3},
        {"augmentation": False, "augmentation_strength": 0},
    ],
)
def test_valid_configs(fields: dict) -> None:
    TrainingConfig(**fields)


def test_monitor_mode_follows_the_metric() -> None:
    assert TrainingConfig(monitor="val_loss").monitor_mode == "min"
    assert TrainingConfig(monitor="val_auc").monitor_mode == "max"
    assert TrainingConfig(monitor="val_recall").monitor_mode == "max"


@pytest.mark.parametrize(
    ("fields", "location", "message"),
    [
        ({"model_type": "VGG16"}, "model_type", "Input should be 'CNN', 'EfficientNetB0'"),
        ({"input_size": 16}, "input_size", "greater than or equal to 32"),
        ({"batch_size": 0}, "batch_size", "greater than or equal to 1"),
        ({"learning_rate": 0}, "learning_rate", "greater than 0"),
        ({"optimizer": "adagrad"}, "optimizer", "'adamw', 'adam', 'sgd' or 'rmsprop'"),
        ({"target_sensitivity": 0}, "target_sensitivity", "greater than 0"),
        ({"calibration": "platt"}, "calibration", "'auto', 'temperature', 'isotonic' or 'none'"),
        ({"test_time_augmentation": "all"}, "test_time_augmentation", "'none', 'flips' or 'dihedral'"),
        ({"max_crop_area": 0.5}, "max_crop_area", "greater than or equal to 1"),
        ({"hair_augmentation": 1.5}, "hair_augmentation", "less than or equal to 1"),
        ({"vignette_augmentation": -0.1}, "vignette_augmentation", "greater than or equal to 0"),
        ({"source_adversary": 11}, "source_adversary", "less than or equal to 10"),
        ({"label_smoothing": 0.5}, "label_smoothing", "less than 0.5"),
        ({"weight_averaging": 1.0}, "weight_averaging", "less than 1"),
        ({"dropout": 1.0}, "dropout", "less than 1"),
        ({"augmentation_strength": 1.5}, "augmentation_strength", "less than or equal to 1"),
        ({"focal_alpha": 0}, "focal_alpha", "greater than 0"),
        ({"decision_threshold": 1}, "decision_threshold", "less than 1"),
        ({"monitor": "val_f1"}, "monitor", "'val_auc', 'val_loss'"),
        ({"epochs": "many"}, "epochs", "valid integer"),
        ({"weights": "resnet.bin"}, "weights", "Keras weights file ending in"),
        ({"weights": "/etc/model.weights.h5"}, "weights", "not by a path"),
        ({"weights": "../../model.weights.h5"}, "weights", "not by a path"),
        ({"weights": "sub/model.weights.h5"}, "weights", "not by a path"),
        ({"learning_rat": 0.1}, "learning_rat", "Extra inputs are not permitted"),
    ],
)
def test_invalid_fields_are_named_with_a_reason(fields: dict, location: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        TrainingConfig(**fields)
    (error,) = raised.value.errors()
    assert error["loc"] == (location,)
    assert message in error["msg"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model_type": "CNN", "weights": "imagenet"}, "CNN has no ImageNet weights"),
        ({"model_type": "ResNet50", "weights": "none", "freeze_base": True}, "freeze_base needs pretrained weights"),
        ({"label_granularity": "diagnosis", "use_focal_loss": True}, "has its own cross-entropy"),
        (
            {"model_type": "EfficientNetLite0", "weights": "imagenet", "trainable_layers": 5},
            "only applies with freeze_base",
        ),
        (
            {"learning_rate_schedule": "plateau", "early_stopping_patience": 5, "reduce_lr_patience": 5},
            "must be smaller than early_stopping_patience",
        ),
    ],
)
def test_inconsistent_combinations_are_refused(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TrainingConfig(**fields)


def test_configs_are_immutable() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        TrainingConfig().epochs = 3  # type: ignore[misc]


def test_services_can_validate_configs_and_preprocess_without_tensorflow() -> None:
    imports = "import skinguard_contracts.training_config, skinguard_imaging"
    check = f"import sys; {imports}; print('tensorflow' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
