"""Read a labelled image folder into a dataset export, splitting it when it has no split.

Two layouts:

* a folder per label: ``DIR/benign/*.jpg`` and ``DIR/malignant/*.jpg`` (``.jpeg`` and ``.png``
  too, any case);
* ``DIR/metadata.json``: a list of records, or ``{"images": [records]}``, each
  ``{"image_path": "path/to/photo.jpg", "label": "benign" | "malignant"}`` with optional
  ``"group"`` (a lesion or patient id: its images stay in one split) and ``"split"``
  (``"train"``, ``"validation"`` or ``"test"``: given for every record or for none).
  ``image_path`` is relative to ``DIR`` unless absolute.

Without given splits, images are grouped by their ``group`` and by near-duplicate perceptual
hash, and the groups are split stratified by label.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from skinguard_common.imaging import perceptual_hash, to_model_input
from skinguard_common.training_config import CLASS_NAMES

from .dataset_export import SPLIT_NAMES, DatasetExport, ExportedImage, SplitName
from .errors import DatasetError
from .splits import grouped_stratified_split, near_duplicate_groups

METADATA_FILE = "metadata.json"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
_HASHED_SIZE = 128  # pixels: ample for the 32x32 perceptual hash


class MetadataRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    image_path: str
    label: Literal["benign", "malignant"]
    group: str | None = None
    split: SplitName | None = None


class _MetadataFile(BaseModel):
    images: list[MetadataRecord]


_RECORDS = TypeAdapter(list[MetadataRecord] | _MetadataFile)


def read_local_dataset(
    directory: Path, *, validation_fraction: float, test_fraction: float, seed: int
) -> DatasetExport:
    """A dataset export with ``file://`` URLs (read them with ``read_file_uri``).

    Raises ``DatasetError`` when the folder has neither layout, names a missing file, gives
    splits for some records only, or has too few images for three splits.
    """
    records = _metadata_records(directory) if (directory / METADATA_FILE).is_file() else _label_folders(directory)
    if not records:
        raise DatasetError(
            f"no images in {directory}: expected {'/, '.join(CLASS_NAMES)}/ folders of .jpg/.png files "
            f"or a {METADATA_FILE}"
        )
    for record in records:
        if not Path(record.image_path).is_file():
            raise DatasetError(f"{record.image_path} does not exist")
    given_splits = [record.split for record in records]
    if any(given_splits) and not all(given_splits):
        raise DatasetError(f"{METADATA_FILE} gives a split for some images only; give it for all or none")
    splits = given_splits if all(given_splits) else _split(records, validation_fraction, test_fraction, seed)
    images = [
        ExportedImage(
            id=os.path.relpath(record.image_path, directory.resolve()),
            url=Path(record.image_path).as_uri(),
            label=record.label,
            metadata={"group": record.group} if record.group else {},
        )
        for record in records
    ]
    by_split = {
        name: [image.id for image, split in zip(images, splits, strict=True) if split == name] for name in SPLIT_NAMES
    }
    try:
        return DatasetExport.model_validate({"images": images, "splits": by_split})
    except ValidationError as error:
        raise DatasetError(f"{directory} cannot be split into train, validation and test: {error}") from error


def _label_folders(directory: Path) -> list[MetadataRecord]:
    return [
        MetadataRecord(image_path=str(path.resolve()), label=label)
        for label in CLASS_NAMES
        for path in sorted((directory / label).glob("*"))
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]


def _metadata_records(directory: Path) -> list[MetadataRecord]:
    try:
        parsed = _RECORDS.validate_json((directory / METADATA_FILE).read_bytes())
    except ValidationError as error:
        raise DatasetError(f"{directory / METADATA_FILE} does not have the expected layout: {error}") from error
    records = parsed.images if isinstance(parsed, _MetadataFile) else parsed
    return [
        record.model_copy(update={"image_path": str((directory / record.image_path).resolve())}) for record in records
    ]


def _split(
    records: list[MetadataRecord], validation_fraction: float, test_fraction: float, seed: int
) -> list[SplitName]:
    hashes = [perceptual_hash(to_model_input(Path(record.image_path).read_bytes(), _HASHED_SIZE)) for record in records]
    groups = near_duplicate_groups(hashes, [record.group for record in records])
    fractions: dict[SplitName, float] = {
        "train": 1 - validation_fraction - test_fraction,
        "validation": validation_fraction,
        "test": test_fraction,
    }
    return grouped_stratified_split([record.label for record in records], groups, fractions, seed)
