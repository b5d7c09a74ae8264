"""Training inputs: each image decoded once, cached by content, and served as ``tf.data`` batches.

Every image goes through ``to_model_input`` (the gateway's preprocessing) once; the result is
kept in the ``PixelCache`` (``image_cache``), so a later run on the same images, or on another
dataset version sharing them, decodes nothing. A split's pixels are gathered into
one ``uint8`` memory-mapped array; batches are gathered from it by index (one numpy call per
batch, not per image), augmented with TensorFlow ops on the whole batch and prefetched.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from skinguard_contracts.labels import CLASS_NAMES, SPLIT_NAMES, SplitName
from skinguard_contracts.manifest import DatasetManifest, ExportedImage

from .augment import AugmentationPolicy, augment_batch
from .errors import DatasetError, TrainingCancelled
from .image_cache import PixelCache

Fetch = Callable[[ExportedImage], bytes]  # an image's bytes from its manifest entry (S3, HTTP, file)
_FETCH_THREADS = 8  # fetching is mostly waiting on S3 or HTTP; decoding releases the GIL


@dataclass(frozen=True)
class SplitData:
    """One split: ``pixels`` ``uint8 (n, size, size, 3)`` and ``labels`` (indices into ``CLASS_NAMES``)."""

    ids: tuple[str, ...]
    pixels: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def load_splits(
    export: DatasetManifest,
    fetch: Fetch,
    *,
    size: int,
    cache: PixelCache,
    arrays_dir: Path,
    should_cancel: Callable[[], bool] = lambda: False,
) -> dict[SplitName, SplitData]:
    """Fetch, decode (or find in the cache) and gather every image of the three splits.

    Raises ``DatasetError`` naming the image that could not be fetched or decoded, or a train
    split without both classes; ``TrainingCancelled`` as soon as ``should_cancel()`` is true.
    """
    splits = {
        name: load_images(name, export.split(name), fetch, size, cache, arrays_dir, should_cancel)
        for name in SPLIT_NAMES
    }
    missing = set(range(len(CLASS_NAMES))) - set(np.unique(splits["train"].labels).tolist())
    if missing:
        names = " and ".join(CLASS_NAMES[index] for index in sorted(missing))
        raise DatasetError(f"the train split has no {names} image; both classes are needed to train")
    return splits


def load_images(
    name: str,
    images: list[ExportedImage],
    fetch: Fetch,
    size: int,
    cache: PixelCache,
    arrays_dir: Path,
    should_cancel: Callable[[], bool],
) -> SplitData:
    """Fetch and decode ``images`` into ``arrays_dir/<name>.npy`` (cached by content), with their labels."""
    arrays_dir.mkdir(parents=True, exist_ok=True)
    pixels = np.lib.format.open_memmap(
        arrays_dir / f"{name}.npy", mode="w+", dtype=np.uint8, shape=(len(images), size, size, 3)
    )

    def load(image: ExportedImage) -> np.ndarray:
        try:
            return cache.model_input(fetch(image), size)
        except Exception as error:  # the fetcher's and the decoder's errors alike name the image
            raise DatasetError(f"image {image.id} ({image.url}) could not be loaded: {error}") from error

    with ThreadPoolExecutor(_FETCH_THREADS) as pool:
        futures = [pool.submit(load, image) for image in images]
        try:
            for index, future in enumerate(futures):
                if should_cancel():
                    raise TrainingCancelled(f"cancelled while loading the {name} images")
                pixels[index] = future.result()
        finally:
            for future in futures:
                future.cancel()
    pixels.flush()
    labels = np.array([CLASS_NAMES.index(image.label) for image in images], dtype=np.int32)
    return SplitData(ids=tuple(image.id for image in images), pixels=pixels, labels=labels)


def make_dataset(
    split: SplitData,
    batch_size: int,
    *,
    shuffle: bool = False,
    augmentation: AugmentationPolicy | None = None,
    seed: int = 0,
    targets: np.ndarray | None = None,
    sources: np.ndarray | None = None,
) -> tf.data.Dataset:
    """Batches ``(pixels uint8, labels int32)``; shuffled each epoch and augmented when asked.

    ``targets`` replace the split's labels as what is learnt (``targets.training_targets``).
    With ``sources`` (each image's source index) the inputs are ``(pixels, source, label)``, what
    ``source_adversary.with_source_adversary`` takes.

    With a given ``seed`` the order and the augmentations of every epoch are reproducible.
    """
    size = split.pixels.shape[1]
    learnt = split.labels if targets is None else np.asarray(targets, dtype=np.int32)
    source = np.zeros(len(split), np.int32) if sources is None else np.asarray(sources, dtype=np.int32)

    def gather(indices: np.ndarray) -> tuple[np.ndarray, ...]:
        return split.pixels[indices], learnt[indices], source[indices], split.labels[indices]

    def gather_batch(indices: tf.Tensor) -> tuple[tf.Tensor, ...]:
        batch = tf.numpy_function(gather, [indices], (tf.uint8, tf.int32, tf.int32, tf.int32), stateful=False)
        batch[0].set_shape((None, size, size, 3))
        for column in batch[1:]:
            column.set_shape((None,))
        return batch

    def as_inputs(pixels: tf.Tensor, learnt: tf.Tensor, source: tf.Tensor, label: tf.Tensor) -> tuple:
        return ((pixels, source, label), learnt) if sources is not None else (pixels, learnt)

    indices = tf.data.Dataset.range(len(split))
    if shuffle:
        indices = indices.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    batches = indices.batch(batch_size).map(gather_batch, num_parallel_calls=tf.data.AUTOTUNE)
    if augmentation is not None:
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        batches = tf.data.Dataset.zip(batches, seeds).map(
            lambda batch, batch_seed: (augment_batch(batch[0], batch_seed, augmentation), *batch[1:]),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    return batches.map(as_inputs).prefetch(tf.data.AUTOTUNE)
