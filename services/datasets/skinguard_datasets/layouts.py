"""Labelled image collections on disk: the one reader behind ``skinguard import`` (what each
image becomes: upload fields, a label and the label's metadata) and ``skinguard-train`` (a
local dataset). Layouts:

- folder per label: any ``benign/`` or ``malignant/`` directory below DIR (``DIR/benign/*.jpg``,
  ``DIR/train/malignant/*.png`` ...);
- ``metadata.json`` (the original design's): a list of records, or ``{"images": [records]}``,
  each ``{"path" or "image_path": "photo.jpg", "label": "benign" | "malignant"}`` with optional
  ``"group"`` (a lesion or patient id: its images share a split; imported as the lesion id)
  and ``"split"`` (train, validation or test: for every record or for none); paths are relative
  to DIR unless absolute;
- a metadata CSV (``CsvLayout``: a column mapping), images found by ``image_id`` anywhere below DIR:
  HAM10000 (``HAM10000_metadata.csv``; ``dx`` mel/bcc/akiec are malignant, nv/bkl/df/vasc
  benign; ``lesion_id`` groups) and ISIC-style collections (``metadata.csv`` with
  ``benign_malignant``; ``patient_id`` groups, pseudonymised by ingestion; ``anatom_site``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args
from urllib.parse import unquote, urlparse

from skinguard_contracts.labels import CLASS_NAMES, DIAGNOSES, SplitName
from skinguard_contracts.manifest import ExportedImage

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
LABEL_DIRECTORIES = set(CLASS_NAMES)
HAM_METADATA = "HAM10000_metadata.csv"
ISIC_METADATA = "metadata.csv"  # ISIC Archive / challenge style: image_id, patient_id, benign_malignant, ...
METADATA_JSON = "metadata.json"
SPLIT_DIRECTORY_NAMES = {"train", "test", "val", "validation"}


class LayoutError(Exception):
    """DIR is not a collection this importer understands."""


@dataclass(frozen=True)
class ImportItem:
    path: Path
    key: str  # stable identity within the collection, used by the resume journal
    label: str
    upload_fields: dict[str, str] = field(default_factory=dict)
    label_metadata: dict[str, Any] = field(default_factory=dict)
    also: tuple[str, ...] = ()  # keys of identical files imported as this one
    split: SplitName | None = None  # given by the collection (metadata.json), else made by the splitter

    @property
    def group(self) -> str | None:
        """What keeps photos together in one split: the lesion, else the patient."""
        return self.upload_fields.get("lesion_id") or self.upload_fields.get("patient_id")


@dataclass(frozen=True)
class Collection:
    layout: str
    source: str
    items: list[ImportItem]
    low_resolution: bool  # known to hold downsampled copies below the service's minimum


def default_source(directory: Path) -> str:
    name = directory.name
    return directory.parent.name if name.lower() in SPLIT_DIRECTORY_NAMES else name


def _images_below(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def folder_per_label(directory: Path, source: str) -> Collection:
    items = []
    for path in _images_below(directory):
        label = path.parent.name.lower()  # any case of benign/ or malignant/
        if label in LABEL_DIRECTORIES:
            key = str(path.relative_to(directory))
            items.append(
                ImportItem(path, key, label, {"source": source}, {"import": {"layout": "folders", "file": key}})
            )
    return Collection("folders", source, items, low_resolution=False)


@dataclass(frozen=True)
class CsvLayout:
    """A collection described by a metadata CSV: which column holds what."""

    name: str
    metadata_file: str
    label_column: str
    labels: dict[str, str]  # value of label_column -> benign | malignant
    lesion_column: str | None = None
    patient_column: str | None = None  # pseudonymised by ingestion, as any upload's patient_id
    location_column: str | None = None
    age_column: str | None = None
    detail_columns: tuple[str, ...] = ()  # kept in the label's metadata
    low_resolution: bool = False  # known to hold downsampled copies below the service's minimum
    source: str | None = None  # the default source name; None: the directory's name

    def label(self, row: dict[str, str]) -> str:
        value = (row.get(self.label_column) or "").strip().lower()
        if value not in self.labels:
            raise LayoutError(f"unknown {self.label_column} {value!r} in {self.metadata_file}")
        return self.labels[value]


HAM10000 = CsvLayout(
    name="ham10000",
    metadata_file=HAM_METADATA,
    label_column="dx",
    labels=dict(DIAGNOSES),
    lesion_column="lesion_id",
    location_column="localization",
    age_column="age",
    detail_columns=("image_id", "dx", "dx_type", "sex", "localization"),
    low_resolution=True,
    source="ham10000",
)
ISIC_CSV = CsvLayout(
    name="isic",
    metadata_file=ISIC_METADATA,
    label_column="benign_malignant",
    labels={"benign": "benign", "malignant": "malignant"},
    patient_column="patient_id",
    location_column="anatom_site",
    age_column="age_approx",
    detail_columns=("image_id", "diagnosis", "sex", "anatom_site"),
)
CSV_LAYOUTS = (HAM10000, ISIC_CSV)


def csv_collection(directory: Path, source: str, layout: CsvLayout) -> Collection:
    """Images listed in ``layout.metadata_file`` by ``image_id``, found anywhere below ``directory``."""
    by_stem = {path.stem: path for path in _images_below(directory)}
    items = []
    with open(directory / layout.metadata_file, newline="") as handle:
        for row in csv.DictReader(handle):
            path = by_stem.get(row.get("image_id", ""))
            if path is None:
                continue  # listed but not shipped: reported by the count below
            fields = {"source": source}
            for field_name, column in (("lesion_id", layout.lesion_column), ("patient_id", layout.patient_column)):
                if column and row.get(column):
                    fields[field_name] = row[column]
            location = row.get(layout.location_column or "") or ""
            if location and location != "unknown":
                fields["location"] = location
            details: dict[str, Any] = {column: row.get(column) for column in layout.detail_columns}
            if layout.age_column:
                details["age"] = _number(row.get(layout.age_column))
            items.append(
                ImportItem(
                    path, row["image_id"], layout.label(row), fields, {"import": {"layout": layout.name, **details}}
                )
            )
    if not items:
        raise LayoutError(f"{directory / layout.metadata_file} lists no image found below {directory}")
    return Collection(layout.name, source, items, low_resolution=layout.low_resolution)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def metadata_json(directory: Path, source: str) -> Collection:
    """The original design's ``metadata.json`` layout (see the module docstring)."""
    try:
        parsed = json.loads((directory / METADATA_JSON).read_text())
    except (OSError, ValueError) as error:
        raise LayoutError(f"{directory / METADATA_JSON} is not readable JSON: {error}") from error
    records = parsed.get("images") if isinstance(parsed, dict) else parsed
    if not isinstance(records, list):
        raise LayoutError(f'{directory / METADATA_JSON} must be a list of records or {{"images": [records]}}')
    items = [_metadata_item(directory, source, index, record) for index, record in enumerate(records)]
    given = [item.split is not None for item in items]
    if any(given) and not all(given):
        raise LayoutError(f"{METADATA_JSON} gives a split for some images only; give it for all or none")
    return Collection("metadata.json", source, items, low_resolution=False)


def _metadata_item(directory: Path, source: str, index: int, record: Any) -> ImportItem:
    where = f"{METADATA_JSON} record {index}"
    if not isinstance(record, dict):
        raise LayoutError(f"{where} is not an object")
    relative = record.get("path") or record.get("image_path")
    if not isinstance(relative, str) or not relative:
        raise LayoutError(f"{where} has no 'path' (or 'image_path')")
    label = record.get("label")
    if label not in CLASS_NAMES:
        raise LayoutError(f"{where}: label must be one of {', '.join(CLASS_NAMES)}, not {label!r}")
    split = record.get("split")
    if split is not None and split not in get_args(SplitName):
        raise LayoutError(f"{where}: split must be train, validation or test, not {split!r}")
    path = (directory / relative).resolve()
    if not path.is_file():
        raise LayoutError(f"{where}: {path} does not exist")
    fields = {"source": source}
    if record.get("group"):
        fields["lesion_id"] = str(record["group"])
    return ImportItem(
        path, relative, label, fields, {"import": {"layout": "metadata.json", "file": relative}}, split=split
    )


def as_exported_image(collection: Collection, item: ImportItem) -> ExportedImage:
    """A collection's image as a dataset-manifest entry with a ``file://`` URL."""
    return ExportedImage(
        id=f"{collection.source}/{item.key}",
        url=item.path.resolve().as_uri(),
        label=item.label,
        metadata={
            "source": collection.source,
            "lesion_id": item.upload_fields.get("lesion_id"),
            "patient_id": item.upload_fields.get("patient_id"),
            "location": item.upload_fields.get("location"),
            "label_metadata": item.label_metadata,
        },
    )


def read_file_uri(image: ExportedImage) -> bytes:
    """The bytes behind a manifest entry's ``file://`` URL (a local dataset's fetcher)."""
    parsed = urlparse(image.url)
    if parsed.scheme != "file":
        raise ValueError(f"image {image.id}: not a file:// URI: {image.url}")
    return Path(unquote(parsed.path)).read_bytes()


def discover(directory: Path, source: str | None = None) -> Collection:
    if not directory.is_dir():
        raise LayoutError(f"{directory} is not a directory")
    if (directory / METADATA_JSON).is_file():
        return metadata_json(directory, source or default_source(directory))
    for layout in CSV_LAYOUTS:
        if (directory / layout.metadata_file).is_file():
            return csv_collection(directory, source or layout.source or default_source(directory), layout)
    collection = folder_per_label(directory, source or default_source(directory))
    if not collection.items:
        raise LayoutError(
            f"no images found in {directory}: expected benign/ and malignant/ folders, {HAM_METADATA}, "
            f"{ISIC_METADATA} or {METADATA_JSON}"
        )
    return collection
