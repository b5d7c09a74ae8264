"""What ``GET /models/current`` answers: everything an app needs to classify on the device."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from skinguard_contracts.model_files import DeviceFormat, RiskThresholds


class Out(BaseModel):
    """Every field is always in the answer (null when unknown): the OpenAPI document says so."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class DeviceFormatOut(Out):
    format: DeviceFormat = Field(description="tflite_int8 | tflite_dynamic | onnx")
    url: str = Field(description="where to download it: /models/{name}/{version}/files/{file}")
    file: str = Field(description="the file's name in the version folder")
    bytes: int = Field(description="its size")
    sha256: str = Field(description="hex SHA-256 of its bytes, also its download's ETag: check it before use")
    runtime: str = Field(description="the runtime it is for")
    input_dtype: str = Field(description="uint8: RGB pixels 0-255 from the preprocessing, shape (1, size, size, 3)")
    test_auc: float | None = Field(description="ROC AUC of this file, run by its runtime, on the test split")
    test_sensitivity: float | None = Field(description="on the test split, at the decision threshold")
    test_specificity: float | None = Field(description="on the test split, at the decision threshold")
    auc_drop: float | None = Field(description="the served model's test AUC minus this file's")
    within_tolerance: bool = Field(description="auc_drop is within the tolerance (0.01) or unknown")


class OperatingPointOut(Out):
    """The decision threshold as chosen on the validation split."""

    threshold: float
    sensitivity: float | None = Field(None, description="on the validation split")
    specificity: float | None = Field(None, description="on the validation split")
    target_sensitivity: float | None = Field(None, description="the sensitivity it was chosen to reach")


class PreprocessingOut(Out):
    description: str = Field(description="how a photo becomes the model input, exactly as training did it")
    input_shape: list[int] = Field(description="[1, size, size, 3]")
    input_dtype: Literal["uint8"] = "uint8"
    channel_order: Literal["RGB"] = "RGB"
    test_time_augmentation: str = Field(description="done inside the model files; nothing to do on the device")


class HeadlineMetrics(Out):
    model_config = ConfigDict(extra="ignore")

    samples: int | None = None
    malignant: int | None = None
    roc_auc: float | None = None
    roc_auc_ci95: list[float] | None = None
    sensitivity: float | None = None
    sensitivity_ci95: list[float] | None = Field(None, description="Wilson 95% interval of the sensitivity")
    specificity: float | None = None
    specificity_ci95: list[float] | None = Field(None, description="Wilson 95% interval of the specificity")
    ece: float | None = Field(None, description="expected calibration error")
    threshold: float | None = None


class ExternalMetrics(HeadlineMetrics):
    dataset_name: str | None = None
    dataset_version: int | None = None
    split: str | None = None


class CardSummary(Out):
    """The public model card in short; ``GET /model`` has all of it."""

    intended_use: str
    not_a_diagnosis: str
    in_distribution: HeadlineMetrics | None = Field(description="on the test split of the training dataset")
    external: list[ExternalMetrics] = Field(description="evaluations on datasets outside the training data")
    limitations: list[str]


class CurrentModelOut(Out):
    model_config = ConfigDict(protected_namespaces=())

    model_name: str
    version: int = Field(description="the served version: update the on-device model when it changes")
    input_size: int = Field(description="side of the square input, pixels")
    class_names: list[str] = Field(description="the order of the output probabilities")
    decision_threshold: float = Field(description="Malignant when its probability reaches this")
    operating_point: OperatingPointOut
    risk_thresholds: RiskThresholds
    preprocessing: PreprocessingOut
    notice: str = Field(description="what to show beside every result")
    card: CardSummary | None = Field(description="null for a version published without a model card")
    formats: list[DeviceFormatOut] = Field(description="its on-device files; empty for versions without any")
