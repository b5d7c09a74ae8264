"""A model version's own documents: ``metadata.json`` (what a client needs to run it) and
``model_card.json`` (what a person needs to trust it).

The training worker writes both into ``models/<name>/<version>/``; the gateway reads the
metadata (decision and risk thresholds) and the card's public part, the annotation service the
card, evaluation jobs the metadata (input size, decision threshold). Versions published before a
field existed read with its default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .labels import CLASS_NAMES

Probability = Annotated[float, Field(gt=0, lt=1)]


class RiskThresholds(BaseModel):
    """The predicted class's probability above ``*_low``/``*_high`` is "low"/"high" risk, above
    ``benign_low_medium``/``malignant_medium_high`` "low-medium"/"medium-high", else "medium"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    benign_low: Probability
    benign_low_medium: Probability
    malignant_high: Probability
    malignant_medium_high: Probability

    @model_validator(mode="after")
    def _ordered(self) -> RiskThresholds:
        if not (self.benign_low > self.benign_low_medium and self.malignant_high > self.malignant_medium_high):
            raise ValueError("benign_low must exceed benign_low_medium and malignant_high malignant_medium_high")
        return self


# The original design's rules, for versions without measured thresholds.
ORIGINAL_RISK_RULES = RiskThresholds(
    benign_low=0.9, benign_low_medium=0.7, malignant_high=0.8, malignant_medium_high=0.6
)


DeviceFormat = Literal["tflite_int8", "tflite_dynamic", "onnx"]
# The file of each on-device format in the version folder, and the runtime it is for.
DEVICE_FILES: dict[str, tuple[str, str]] = {
    "tflite_int8": ("model_int8.tflite", "LiteRT (TensorFlow Lite): full-integer, uint8 input"),
    "tflite_dynamic": ("model.tflite", "LiteRT (TensorFlow Lite): dynamic-range weights"),
    "onnx": ("model.onnx", "onnxruntime (onnxruntime-web in browsers and apps, onnxruntime-node)"),
}
# An on-device format whose test AUC falls more than this below the SavedModel's says so on the card.
DEVICE_AUC_TOLERANCE = 0.01


class DeviceModel(BaseModel):
    """One on-device file of a version: what ``GET /models/current`` publishes about it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    format: DeviceFormat
    file: str
    runtime: str
    bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    input_dtype: str  # "uint8": RGB pixels 0-255 from the shared preprocessing, (1, size, size, 3)
    test_auc: float | None = None  # on the version's test split, this file run by its runtime
    test_sensitivity: float | None = None  # at the version's decision threshold
    test_specificity: float | None = None
    auc_drop: float | None = None  # the SavedModel's test AUC minus this file's

    @property
    def within_tolerance(self) -> bool:
        return self.auc_drop is None or self.auc_drop <= DEVICE_AUC_TOLERANCE


class ModelMetadata(BaseModel):
    """``metadata.json``. Readers ignore fields they do not know (newer writers may add some)."""

    model_config = ConfigDict(frozen=True, extra="ignore", protected_namespaces=())

    model_name: str = "skinguard"
    class_names: list[str] = Field(default_factory=lambda: [str(name) for name in CLASS_NAMES])
    input: dict[str, Any] = Field(default_factory=dict)  # name, signature, dtype, shape, float32_signature
    output: dict[str, Any] = Field(default_factory=dict)  # name, dtype, shape
    input_size: int = Field(224, ge=1)
    preprocessing: str = ""
    test_time_augmentation: str = "none"
    calibration: dict[str, Any] = Field(default_factory=lambda: {"method": "none"})
    decision_threshold: Probability = 0.5
    operating_point: dict[str, Any] = Field(default_factory=dict)  # threshold, sensitivity, specificity, target
    risk_thresholds: RiskThresholds = ORIGINAL_RISK_RULES
    best_epoch: int | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)  # the test split's headline figures
    dataset: dict[str, Any] = Field(default_factory=dict)  # id, version, images per split, class counts, sources
    config: dict[str, Any] = Field(default_factory=dict)  # the TrainingConfig
    sizes: dict[str, int] = Field(default_factory=dict)
    devices: list[DeviceModel] = Field(default_factory=list)  # on-device files, checked on the test split
    devices_unavailable: dict[str, str] = Field(default_factory=dict)  # format -> why it was not published
    code_version: str = ""
    tensorflow_version: str = ""
    keras_version: str = ""
    created_at: str = ""


class ModelCard(BaseModel):
    """``model_card.json``; ``model_card.md`` renders the same content for people. Readers ignore
    sections they do not know."""

    model_config = ConfigDict(frozen=True, extra="ignore", protected_namespaces=())

    model: dict[str, Any]  # name, version, architecture, input_size, created_at, code_version
    intended_use: str
    not_a_diagnosis: str
    training_data: dict[str, Any]
    recipe: dict[str, Any]
    operating_point: dict[str, Any]
    calibration: dict[str, Any]
    risk_levels: dict[str, Any]  # thresholds, and the test split's photos and malignant share per level
    metrics: dict[str, Any]  # in_distribution, external: [...]
    slices: dict[str, Any]
    gate: dict[str, Any] | None
    limitations: list[str]
    on_device: list[dict[str, Any]] = Field(default_factory=list)  # each device format's test results

    # What a mobile app may show: no internal identifiers, code versions or gate policy.
    def public(self) -> dict[str, Any]:
        model = {key: value for key, value in self.model.items() if key != "code_version"}
        training = {
            key: self.training_data[key] for key in ("images", "class_counts", "sources") if key in self.training_data
        }
        external = [
            {key: value for key, value in item.items() if key not in ("dataset_id", "evaluation_id")}
            for item in self.metrics.get("external", [])
        ]
        return {
            "model": model,
            "intended_use": self.intended_use,
            "not_a_diagnosis": self.not_a_diagnosis,
            "training_data": training,
            "operating_point": self.operating_point,
            "metrics": {"in_distribution": self.metrics.get("in_distribution"), "external": external},
            "calibration": self.calibration,
            "risk_levels": self.risk_levels,
            "slices": self.slices,
            "limitations": self.limitations,
            "on_device": self.on_device,
        }
