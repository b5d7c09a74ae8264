from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skinguard_contracts.manifest import DatasetManifest
from skinguard_imaging import to_model_input
from skinguard_training import data, image_cache
from skinguard_training.augment import AugmentationPolicy
from skinguard_training.data import load_splits, make_dataset
from skinguard_training.errors import DatasetError, TrainingCancelled
from skinguard_training.image_cache import PixelCache

from .conftest import fetch_from

Dataset = tuple[dict[str, Any], dict[str, bytes]]


def _load(tiny_dataset: Dataset, tmp_path: Path, **options: Any) -> dict:
    manifest, blobs = tiny_dataset
    options.setdefault("fetch", fetch_from(blobs))
    return load_splits(
        DatasetManifest.model_validate(manifest),
        size=32,
        cache=PixelCache(tmp_path / "cache"),
        arrays_dir=tmp_path / "arrays",
        **options,
    )


def test_splits_hold_preprocessed_pixels_and_labels_in_export_order(tiny_dataset: Dataset, tmp_path: Path) -> None:
    manifest, blobs = tiny_dataset
    splits = _load(tiny_dataset, tmp_path)

    assert {name: len(split) for name, split in splits.items()} == {"train": 16, "validation": 4, "test": 4}
    test = splits["test"]
    assert test.ids == tuple(manifest["splits"]["test"])
    assert test.pixels.dtype == np.uint8 and test.pixels.shape == (4, 32, 32, 3)
    assert np.array_equal(test.pixels[1], to_model_input(blobs[test.ids[1]], 32))
    labels = {image["id"]: image["label"] for image in manifest["images"]}
    assert [("benign", "malignant")[label] for label in test.labels] == [labels[i] for i in test.ids]


def test_each_image_is_decoded_once_then_read_from_the_cache(
    tiny_dataset: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _load(tiny_dataset, tmp_path)
    assert len(list((tmp_path / "cache" / "32px").glob("*.npy"))) == 24

    def no_decoding(data: bytes, size: int) -> np.ndarray:
        raise AssertionError("decoded again")

    monkeypatch.setattr(image_cache, "to_model_input", no_decoding)
    again = _load(tiny_dataset, tmp_path)
    assert np.array_equal(first["train"].pixels, again["train"].pixels)


def test_an_image_that_cannot_be_fetched_is_named(tiny_dataset: Dataset, tmp_path: Path) -> None:
    def fetch(image):
        raise ConnectionError("S3 said no")

    with pytest.raises(DatasetError, match=r"image image-00 \(s3://bucket/images/0\).*S3 said no"):
        _load(tiny_dataset, tmp_path, fetch=fetch)


def test_a_corrupt_image_is_named(tiny_dataset: Dataset, tmp_path: Path) -> None:
    _, blobs = tiny_dataset
    broken = {**blobs, "image-05": b"\x89PNG\r\n\x1a\n broken"}
    with pytest.raises(DatasetError, match=r"image image-05 .*could not be read"):
        _load(tiny_dataset, tmp_path, fetch=fetch_from(broken))


def test_a_train_split_with_one_class_is_refused(tiny_dataset: Dataset, tmp_path: Path) -> None:
    manifest, blobs = tiny_dataset
    benign_only = {**manifest, "splits": {**manifest["splits"], "train": manifest["splits"]["train"][::2]}}
    with pytest.raises(DatasetError, match="no malignant image"):
        _load((benign_only, blobs), tmp_path)


def test_loading_stops_when_cancelled(tiny_dataset: Dataset, tmp_path: Path) -> None:
    with pytest.raises(TrainingCancelled):
        _load(tiny_dataset, tmp_path, should_cancel=lambda: True)


def test_batches_cover_every_image_once_per_epoch_shuffled_reproducibly(tiny_dataset: Dataset, tmp_path: Path) -> None:
    train = _load(tiny_dataset, tmp_path)["train"]
    # Tag each image's pixels with its index so that batches can be traced back.
    tagged = train.pixels.copy()
    tagged[:, 0, 0, 0] = np.arange(len(train))
    split = data.SplitData(ids=train.ids, pixels=tagged, labels=train.labels)

    def epochs(seed: int) -> list[list[int]]:
        dataset = make_dataset(split, 5, shuffle=True, seed=seed)
        orders = []
        for _ in range(2):
            batches = list(dataset.as_numpy_iterator())
            assert [len(labels) for _, labels in batches] == [5, 5, 5, 1]
            order = [int(i) for pixels, labels in batches for i in pixels[:, 0, 0, 0]]
            assert [train.labels[i] for i in order] == [int(x) for _, labels in batches for x in labels]
            orders.append(order)
        return orders

    first, second = epochs(seed=1)
    assert sorted(first) == sorted(second) == list(range(16))
    assert first != second, "not reshuffled between epochs"
    assert epochs(seed=1) == [first, second]
    assert epochs(seed=2) != [first, second]


def test_augmented_batches_are_reproducible_with_a_seed(tiny_dataset: Dataset, tmp_path: Path) -> None:
    train = _load(tiny_dataset, tmp_path)["train"]

    def pixels(seed: int) -> np.ndarray:
        dataset = make_dataset(train, 4, augmentation=AugmentationPolicy(1.0, 0.5, True), seed=seed)
        return np.concatenate([batch for batch, _ in dataset.as_numpy_iterator()])

    augmented = pixels(3)
    assert augmented.dtype == np.uint8 and augmented.shape == train.pixels.shape
    assert not np.array_equal(augmented, train.pixels)
    assert np.array_equal(augmented, pixels(3))
