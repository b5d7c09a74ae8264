"""An in-memory ``ModelClient`` for tests: versions, labels, a scoring function, failures on demand."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from skinguard_contracts.errors import AppError
from skinguard_gateway.errors import ModelUnavailable
from skinguard_gateway.serving.client import ModelRef, Prediction, ServedModel

Score = Callable[[np.ndarray], tuple[float, float]]


def darker_is_malignant(pixels: np.ndarray) -> tuple[float, float]:
    """The default scorer: the darker the image, the more malignant."""
    malignant = 1.0 - float(pixels.mean()) / 255.0
    return 1.0 - malignant, malignant


class InMemoryModelClient:
    """A model server in memory. ``inputs`` records every image it was asked to classify."""

    def __init__(self, name: str = "skinguard", *, input_size: int = 32) -> None:
        self.name = name
        self.input_size = input_size
        self.versions: dict[int, Score] = {}
        self.labels: dict[str, int] = {}
        self.inputs: list[tuple[int, np.ndarray]] = []
        self.delay_seconds = 0.0  # before every answer
        self.failure: AppError | None = None  # raised by every call while set

    def serve(self, version: int, score: Score = darker_is_malignant, *, label: str | None = "stable") -> None:
        """Load ``version`` and, unless ``label`` is None, point the label at it."""
        self.versions[version] = score
        if label is not None:
            self.labels[label] = version

    def unload(self, version: int) -> None:
        del self.versions[version]

    async def describe(self, ref: ModelRef) -> ServedModel:
        await self._answering()
        version = ref.version if ref.version is not None else self.labels.get(ref.label)
        if ref.name != self.name or version not in self.versions:
            raise ModelUnavailable(f"no version of model {ref.name} is being served")
        return ServedModel(ref.name, version, "image", self.input_size, "probabilities")

    async def predict(self, model: ServedModel, pixels: np.ndarray) -> Prediction:
        await self._answering()
        score = self.versions.get(model.version)
        if model.name != self.name or score is None:
            raise ModelUnavailable(f"version {model.version} of model {model.name} is not loaded")
        self.inputs.append((model.version, pixels))
        return Prediction(version=model.version, probabilities=score(pixels))

    async def available_versions(self, name: str) -> set[int]:
        await self._answering()
        return set(self.versions) if name == self.name else set()

    async def close(self) -> None:
        pass

    async def _answering(self) -> None:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.failure is not None:
            raise self.failure
