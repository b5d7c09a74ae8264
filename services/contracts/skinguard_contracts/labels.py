"""The label vocabulary: the two classes every model answers, the diagnoses behind them, the splits.

Diagnoses use HAM10000's codes. Other collections name them in words (ISIC's ``diagnosis``
column); ``diagnosis_code`` maps those words to the codes, or None when unknown.
"""

from __future__ import annotations

from typing import Literal

Label = Literal["benign", "malignant"]
SplitName = Literal["train", "validation", "test"]
SPLIT_NAMES: tuple[SplitName, SplitName, SplitName] = ("train", "validation", "test")
# The order of every model's output probabilities; dataset exports label images with these names.
CLASS_NAMES: tuple[Label, Label] = ("benign", "malignant")
BENIGN, MALIGNANT = 0, 1

# Diagnosis codes, in the order of a diagnosis-level model's outputs, and the class of each.
DIAGNOSES: dict[str, Label] = {
    "nv": "benign",  # melanocytic nevus
    "mel": "malignant",  # melanoma
    "bkl": "benign",  # benign keratosis (seborrhoeic keratosis, solar lentigo, lichen planus-like keratosis)
    "bcc": "malignant",  # basal cell carcinoma
    "akiec": "malignant",  # actinic keratosis / intraepithelial carcinoma (Bowen's disease)
    "df": "benign",  # dermatofibroma
    "vasc": "benign",  # vascular lesion
}
MALIGNANT_DIAGNOSES = frozenset(code for code, label in DIAGNOSES.items() if label == "malignant")

_DIAGNOSIS_WORDS = {
    "melanoma": "mel",
    "nevus": "nv",
    "melanocytic nevus": "nv",
    "seborrheic keratosis": "bkl",
    "lentigo nos": "bkl",
    "solar lentigo": "bkl",
    "lichenoid keratosis": "bkl",
    "benign keratosis": "bkl",
    "basal cell carcinoma": "bcc",
    "actinic keratosis": "akiec",
    "squamous cell carcinoma": "akiec",
    "dermatofibroma": "df",
    "vascular lesion": "vasc",
}


def diagnosis_code(value: object) -> str | None:
    """A HAM10000 code for a code or a diagnosis in words; None when unknown or not a diagnosis."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if text in DIAGNOSES:
        return text
    return _DIAGNOSIS_WORDS.get(text)
