"""Image collections on disk and what each image becomes: upload fields and a label.

- folder per label: any ``benign/`` or ``malignant/`` directory below DIR (``DIR/benign/*.jpg``,
  ``DIR/train/malignant/*.png`` ...);
- HAM10000: ``HAM10000_metadata.csv`` in DIR, images found by ``image_id`` anywhere below DIR;
  ``dx`` mel/bcc/akiec are malignant, nv/bkl/df/vasc benign.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
LABEL_DIRECTORIES = {"benign", "malignant"}
HAM_METADATA = "HAM10000_metadata.csv"
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


def _ham_label(dx: str) -> str:
    if dx in HAM_MALIGNANT:
        return "malignant"
    if dx in HAM_BENIGN:
        return "benign"
    raise LayoutError(f"unknown HAM10000 diagnosis {dx!r}")


def ham10000(directory: Path, source: str) -> Collection:
    by_stem = {path.stem: path for path in _images_below(directory)}
    items = []
    with open(directory / HAM_METADATA, newline="") as handle:
        for row in csv.DictReader(handle):
            path = by_stem.get(row["image_id"])
            if path is None:
                continue  # listed but not shipped: reported by the count below
            fields = {"source": source, "lesion_id": row["lesion_id"]}
            if row.get("localization") and row["localization"] != "unknown":
                fields["location"] = row["localization"]
            details = {k: row.get(k) for k in ("image_id", "dx", "dx_type", "sex", "localization")}
            details["age"] = float(row["age"]) if row.get("age") else None
            items.append(
                ImportItem(
                    path, row["image_id"], _ham_label(row["dx"]), fields, {"import": {"layout": "ham10000", **details}}
                )
            )
    if not items:
        raise LayoutError(f"{directory / HAM_METADATA} lists no image found below {directory}")
    return Collection("ham10000", source, items, low_resolution=True)


def discover(directory: Path, source: str | None = None) -> Collection:
    if not directory.is_dir():
        raise LayoutError(f"{directory} is not a directory")
    if (directory / HAM_METADATA).is_file():
        return ham10000(directory, source or "ham10000")
    collection = folder_per_label(directory, source or default_source(directory))
    if not collection.items:
        raise LayoutError(f"no images found in {directory}: expected benign/ and malignant/ folders or {HAM_METADATA}")
    return collection
