"""What a model's head learns: the two classes, or each diagnosis (``label_granularity``).

A diagnosis-level head has one softmax output per HAM10000 diagnosis (``DIAGNOSES`` order);
p(malignant) is the sum of the malignant diagnoses' outputs, so it is served exactly like a
two-class model. Images whose diagnosis is unknown (another collection, or a label without one)
still teach the class: their training targets are two extra indices past the diagnoses,
"benign, unspecified" and "malignant, unspecified", which ``losses.DiagnosisLoss`` scores on
the summed probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skinguard_contracts.labels import CLASS_NAMES, DIAGNOSES, MALIGNANT
from skinguard_contracts.manifest import ExportedImage
from skinguard_contracts.training_config import LabelGranularity

DIAGNOSIS_CLASSES = tuple(DIAGNOSES)
UNSPECIFIED_BENIGN = len(DIAGNOSIS_CLASSES)
UNSPECIFIED_MALIGNANT = UNSPECIFIED_BENIGN + 1
# Per training target of a diagnosis-level head: 1 where it is malignant.
DIAGNOSIS_TARGET_IS_MALIGNANT = np.array(
    [DIAGNOSES[code] == "malignant" for code in DIAGNOSIS_CLASSES] + [False, True], dtype=np.int32
)
MALIGNANT_OUTPUTS = tuple(index for index, code in enumerate(DIAGNOSIS_CLASSES) if DIAGNOSES[code] == "malignant")


def output_count(granularity: LabelGranularity) -> int:
    return len(CLASS_NAMES) if granularity == "binary" else len(DIAGNOSIS_CLASSES)


def training_targets(images: Sequence[ExportedImage], granularity: LabelGranularity) -> np.ndarray:
    """The class index per image, or its diagnosis index (an unspecified one when unknown or at
    odds with the consensus label, which wins)."""
    if granularity == "binary":
        return np.array([CLASS_NAMES.index(image.label) for image in images], dtype=np.int32)
    targets = []
    for image in images:
        code = image.diagnosis
        if code is not None and DIAGNOSES[code] == image.label:
            targets.append(DIAGNOSIS_CLASSES.index(code))
        else:
            targets.append(UNSPECIFIED_MALIGNANT if CLASS_NAMES.index(image.label) == MALIGNANT else UNSPECIFIED_BENIGN)
    return np.array(targets, dtype=np.int32)


def binary_labels(targets: np.ndarray, granularity: LabelGranularity) -> np.ndarray:
    return np.asarray(targets) if granularity == "binary" else DIAGNOSIS_TARGET_IS_MALIGNANT[np.asarray(targets)]
