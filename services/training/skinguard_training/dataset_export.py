"""The dataset export the annotation service produces, and the CLI builds from a local folder.

    {"images": [{"id", "url", "label", "metadata"}],
     "splits": {"train": [ids], "validation": [ids], "test": [ids]}}

``label`` is ``"benign"`` or ``"malignant"``; ``url`` is an http(s) URL (presigned), an
``s3://bucket/key`` or, from the CLI, a ``file://`` URI; the fetch function given to the loader
knows how to read it. Images that no split lists are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, ConfigDict, Field, model_validator

from skinguard_common.labels import diagnosis_code

SplitName = Literal["train", "validation", "test"]
SPLIT_NAMES: tuple[SplitName, ...] = ("train", "validation", "test")


class ExportedImage(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    url: str = Field(min_length=1)
    label: Literal["benign", "malignant"]
    metadata: dict[str, Any] = Field(default_factory=dict)

    def label_field(self, name: str) -> Any:
        """A field of the label's metadata (bulk imports keep theirs under ``import``), else of the image's."""
        label_metadata = self.metadata.get("label_metadata") or {}
        for place in (label_metadata, label_metadata.get("import") or {}, self.metadata):
            if isinstance(place, dict) and place.get(name) not in (None, ""):
                return place[name]
        return None

    @property
    def diagnosis(self) -> str | None:
        """The HAM10000 code of the labelled diagnosis, when the label's metadata names a known one."""
        return diagnosis_code(self.label_field("dx")) or diagnosis_code(self.label_field("diagnosis"))


class Splits(BaseModel):
    train: list[str] = Field(min_length=1)
    validation: list[str] = Field(min_length=1)
    test: list[str] = Field(min_length=1)


class DatasetExport(BaseModel):
    images: list[ExportedImage]
    splits: Splits

    @model_validator(mode="after")
    def _splits_name_known_images_once(self) -> DatasetExport:
        known = {image.id for image in self.images}
        if len(known) != len(self.images):
            raise ValueError("image ids must be unique")
        seen: set[str] = set()
        for name in SPLIT_NAMES:
            ids = getattr(self.splits, name)
            unknown = set(ids) - known
            if unknown:
                raise ValueError(f"split {name} lists images that are not in the export: {sorted(unknown)[:5]}")
            repeated = seen.intersection(ids)
            if repeated or len(set(ids)) != len(ids):
                raise ValueError(f"split {name} repeats images: {sorted(repeated)[:5] or 'within the split'}")
            seen.update(ids)
        return self

    def split(self, name: SplitName) -> list[ExportedImage]:
        by_id = {image.id: image for image in self.images}
        return [by_id[image_id] for image_id in getattr(self.splits, name)]


Fetch = Callable[[ExportedImage], bytes]


def read_file_uri(image: ExportedImage) -> bytes:
    """A ``Fetch`` for ``file://`` URIs: the local loader of the CLI."""
    parsed = urlparse(image.url)
    if parsed.scheme != "file":
        raise ValueError(f"image {image.id}: not a file:// URI: {image.url}")
    return Path(unquote(parsed.path)).read_bytes()
