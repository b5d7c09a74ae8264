"""What the gateway needs from a model server, whichever implements it.

Implementations raise the gateway's serving errors: ``ServingUnavailable`` (cannot reach it),
``ServingTimeout`` (deadline exceeded), ``ModelUnavailable`` (no such model or version loaded,
an unknown label) and ``ServingFailed`` (any other error, or an answer the gateway cannot use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

SIGNATURE = "serving_default"


@dataclass(frozen=True, slots=True)
class ModelRef:
    """The model the gateway serves: a pinned ``version``, else the one ``label`` points to."""

    name: str
    version: int | None = None
    label: str = "stable"


@dataclass(frozen=True, slots=True)
class ServedModel:
    """A loaded version and its ``serving_default`` signature: uint8 RGB in, class probabilities out."""

    name: str
    version: int
    input_name: str
    input_size: int  # side of the square input, pixels
    output_name: str


@dataclass(frozen=True, slots=True)
class Prediction:
    version: int  # the version that answered
    probabilities: tuple[float, float]  # benign, malignant (CLASS_NAMES order)


class ModelClient(Protocol):
    async def describe(self, ref: ModelRef) -> ServedModel:
        """The version ``ref`` resolves to now, with its input and output (GetModelMetadata)."""
        ...

    async def predict(self, model: ServedModel, pixels: np.ndarray) -> Prediction:
        """Classify one ``uint8 (size, size, 3)`` image with exactly ``model.version`` (Predict)."""
        ...

    async def available_versions(self, name: str) -> set[int]:
        """Versions of the model that are loaded and answering (GetModelStatus)."""
        ...

    async def close(self) -> None: ...
