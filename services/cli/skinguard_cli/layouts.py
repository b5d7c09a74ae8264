"""Image collections on disk and what each image becomes: upload fields and a label.

- folder per label: any ``benign/`` or ``malignant/`` directory below DIR (``DIR/benign/*.jpg``,
  ``DIR/train/malignant/*.png`` ...);
- a metadata CSV (``CsvLayout``: a column mapping), images found by ``image_id`` anywhere below DIR:
  HAM10000 (``HAM10000_metadata.csv``; ``dx`` mel/bcc/akiec are malignant, nv/bkl/df/vasc
  benign; ``lesion_id`` groups) and ISIC-style collections (``metadata.csv`` with
  ``benign_malignant``; ``patient_id`` groups, pseudonymised by ingestion; ``anatom_site``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
LABEL_DIRECTORIES = {"benign", "malignant"}
HAM_METADATA = "HAM10000_metadata.csv"
ISIC_METADATA = "metadata.csv"  # ISIC Archive / challenge style: image_id, patient_id, benign_malignant, ...
HAM_MALIGNANT = {"mel", "bcc", "akiec"}
HAM_BENIGN = {"nv", "bkl", "df", "vasc"}
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
        label = path.parent.name.lower()
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
    labels={dx: "malignant" for dx in HAM_MALIGNANT} | {dx: "benign" for dx in HAM_BENIGN},
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


def discover(directory: Path, source: str | None = None) -> Collection:
    if not directory.is_dir():
        raise LayoutError(f"{directory} is not a directory")
    for layout in CSV_LAYOUTS:
        if (directory / layout.metadata_file).is_file():
            return csv_collection(directory, source or layout.source or default_source(directory), layout)
    collection = folder_per_label(directory, source or default_source(directory))
    if not collection.items:
        raise LayoutError(
            f"no images found in {directory}: expected benign/ and malignant/ folders, {HAM_METADATA} or "
            f"{ISIC_METADATA}"
        )
    return collection
