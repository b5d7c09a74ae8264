"""A dataset version's manifest, the dataset export format (from the original design, plus a header):

    {"dataset": {"id", "name", "version", "seed", "image_count", "exported_images"},
     "images": [{"id", "url", "label", "metadata"}],
     "splits": {"train": [ids], "validation": [ids], "test": [ids]}}

``label`` is ``"benign"`` or ``"malignant"`` (the consensus at freezing); ``url`` is an
``s3://bucket/key``, a presigned http(s) URL or, from a local folder, a ``file://`` URI.
``metadata`` holds the image's fields (source, location, lesion id, patient pseudonym, group,
sha256...) and, under ``label_metadata``, what the labels said besides the label (diagnosis,
age, sex). The annotation service serves it live (``GET /api/datasets/{id}/export``); what it
stores in S3 is narrower, so that erasing an image leaves none of its personal data behind:
``datasets/<id>/manifest.json`` is the ``membership()`` (ids, content hashes, labels, groups,
sources, splits) and a job's ``jobs/<id>/dataset.json`` is ``for_worker()`` (plus the body
site and the label fields that evaluation slices need; never notes, lesion ids or patient
pseudonyms). The training worker, the CLI and benchmarks read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .labels import SPLIT_NAMES, Label, SplitName, diagnosis_code

# What the labels may say besides benign/malignant that a dataset keeps: coded fields, no free text.
LABEL_FIELDS = ("dx", "dx_type", "diagnosis", "age", "sex")
_MEMBERSHIP_FIELDS = ("sha256", "group", "source")
_WORKER_FIELDS = (*_MEMBERSHIP_FIELDS, "format", "width", "height", "location")


def coded_label_fields(label_metadata: dict[str, Any]) -> dict[str, Any]:
    """The ``LABEL_FIELDS`` of a label's metadata, a bulk import's (under ``import``) included."""
    imported = label_metadata.get("import")
    merged = {**(imported if isinstance(imported, dict) else {}), **label_metadata}
    return {name: merged[name] for name in LABEL_FIELDS if merged.get(name) not in (None, "")}


class ExportedImage(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    url: str = Field(min_length=1)
    label: Label
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

    @property
    def source(self) -> str:
        """The collection or clinic the photo came from, as recorded at upload or import."""
        return str(self.metadata.get("source") or "unknown")

    def narrowed(self, image_fields: Iterable[str], label_fields: Iterable[str]) -> ExportedImage:
        """This image with only these metadata fields and these (coded) label fields."""
        label_metadata = coded_label_fields(self.metadata.get("label_metadata") or {})
        metadata: dict[str, Any] = {name: self.metadata[name] for name in image_fields if name in self.metadata}
        metadata["label_metadata"] = {name: label_metadata[name] for name in label_fields if name in label_metadata}
        return self.model_copy(update={"metadata": metadata})


class Splits(BaseModel):
    train: list[str] = Field(default_factory=list)
    validation: list[str] = Field(default_factory=list)
    test: list[str] = Field(default_factory=list)

    def of(self, name: SplitName) -> list[str]:
        return getattr(self, name)


class DatasetHeader(BaseModel):
    id: str | None = None
    name: str | None = None
    version: int | None = None
    seed: int | None = None
    image_count: int | None = None
    exported_images: int | None = None


class DatasetManifest(BaseModel):
    dataset: DatasetHeader = Field(default_factory=DatasetHeader)
    images: list[ExportedImage]
    splits: Splits

    @model_validator(mode="after")
    def _splits_name_known_images_once(self) -> DatasetManifest:
        known = {image.id for image in self.images}
        if len(known) != len(self.images):
            raise ValueError("image ids must be unique")
        seen: set[str] = set()
        for name in SPLIT_NAMES:
            ids = self.splits.of(name)
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
        return [by_id[image_id] for image_id in self.splits.of(name)]

    def empty_splits(self) -> list[SplitName]:
        return [name for name in SPLIT_NAMES if not self.splits.of(name)]

    def membership(self) -> DatasetManifest:
        """What a frozen manifest in S3 keeps: ids, content hashes, labels (diagnosis codes too),
        groups, sources and splits."""
        return self._narrowed(_MEMBERSHIP_FIELDS, ("dx", "diagnosis"))

    def for_worker(self) -> DatasetManifest:
        """What a training or evaluation job is given: the membership plus image size, body site
        and the coded label fields its evaluation slices by."""
        return self._narrowed(_WORKER_FIELDS, LABEL_FIELDS)

    def _narrowed(self, image_fields: Iterable[str], label_fields: Iterable[str]) -> DatasetManifest:
        images = [image.narrowed(image_fields, label_fields) for image in self.images]
        return self.model_copy(update={"images": images})

    def without(self, image_ids: set[str]) -> DatasetManifest:
        """The manifest less these images (erased since freezing), in every split."""
        kept = [image for image in self.images if image.id not in image_ids]
        splits = Splits(**{name: [i for i in self.splits.of(name) if i not in image_ids] for name in SPLIT_NAMES})
        header = self.dataset.model_copy(update={"exported_images": len(kept)})
        return DatasetManifest(dataset=header, images=kept, splits=splits)
