"""A dataset manifest from labelled folders on disk, for ``skinguard-train`` and the benchmarks.

Collections are read by ``skinguard_datasets.layouts`` (the importer's reader) and split by
``skinguard_datasets.splitting`` (the annotation service's splitter): grouped by lesion or
patient and by near-duplicate perceptual hash — across collections too, so a photo of one set
that reappears in another stays on one side — and stratified by label. A ``metadata.json``
that gives every split is kept as given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from skinguard_contracts.labels import SPLIT_NAMES, SplitName
from skinguard_contracts.manifest import DatasetManifest
from skinguard_datasets.layouts import Collection, LayoutError, as_exported_image, discover, read_file_uri
from skinguard_datasets.splitting import Candidate, split_dataset
from skinguard_imaging import NEAR_DUPLICATE_MAX_DISTANCE, near_duplicate_pairs, perceptual_hash, to_model_input

from .errors import DatasetError

_HASHED_SIZE = 128  # pixels: ample for the 32x32 perceptual hash


def read_local_dataset(
    directory: Path, *, validation_fraction: float, test_fraction: float, seed: int
) -> DatasetManifest:
    """One folder's manifest with ``file://`` URLs (read them with ``read_file_uri``)."""
    try:
        collection = discover(directory)
    except LayoutError as error:
        raise DatasetError(str(error)) from error
    fractions = {
        "train": 1 - validation_fraction - test_fraction,
        "validation": validation_fraction,
        "test": test_fraction,
    }
    return collections_manifest([collection], fractions, seed)


def collections_manifest(collections: Sequence[Collection], fractions: dict[str, float], seed: int) -> DatasetManifest:
    """The collections as one dataset; split unless every image comes with its split."""
    entries = [(collection, item) for collection in collections for item in collection.items]
    if not entries:
        raise DatasetError("no images in the collections")
    images = [as_exported_image(collection, item) for collection, item in entries]
    sides: list[SplitName | None] = [item.split for _, item in entries]
    if not all(sides):
        hashes = [perceptual_hash(to_model_input(read_file_uri(image), _HASHED_SIZE)) for image in images]
        candidates = [
            Candidate(
                image.id,
                image.label,
                item.upload_fields.get("lesion_id"),
                item.upload_fields.get("patient_id"),
                phash,
                collection.source,
            )
            for image, (collection, item), phash in zip(images, entries, hashes, strict=True)
        ]
        result = split_dataset(
            candidates, fractions, seed, near_duplicate=near_duplicate_pairs, max_distance=NEAR_DUPLICATE_MAX_DISTANCE
        )
        sides = [result.splits[image.id] for image in images]
    splits = {
        name: [image.id for image, side in zip(images, sides, strict=True) if side == name] for name in SPLIT_NAMES
    }
    try:
        return DatasetManifest(images=images, splits=splits)
    except ValidationError as error:
        raise DatasetError(f"the collections cannot be made a dataset: {error}") from error
