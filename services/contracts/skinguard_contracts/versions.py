"""``models/<name>/versions.json``: every version's status; the promoted one is labelled ``stable``.

Written by the registry on every change, read by model-sync. ``generation`` grows with every
write; model-sync never applies one older than it already has (0: written before generations).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ModelStatusName = Literal["candidate", "promoted", "rejected", "archived"]


class IndexedVersion(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = Field(gt=0)
    status: ModelStatusName
    labels: list[str] = Field(default_factory=list)


class VersionsIndex(BaseModel):
    model_config = ConfigDict(frozen=True)

    model: str
    generation: int = Field(0, ge=0)
    versions: list[IndexedVersion]

    @model_validator(mode="after")
    def _versions_and_labels_are_unique(self) -> VersionsIndex:
        numbers = [entry.version for entry in self.versions]
        if len(numbers) != len(set(numbers)):
            raise ValueError(f"versions.json of {self.model} lists a version twice")
        labels = [label for entry in self.versions for label in entry.labels]
        if len(labels) != len(set(labels)):
            raise ValueError(f"versions.json of {self.model} gives a label to two versions")
        return self

    def promoted(self) -> list[int]:
        return [entry.version for entry in self.versions if entry.status == "promoted"]
