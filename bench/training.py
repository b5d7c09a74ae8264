"""Training benchmark: input-pipeline and training images/s, ours against the original design's.

Ours: each image decoded once by ``to_model_input`` and cached, batches gathered from a memory
map and augmented with TensorFlow ops on the whole batch. The original: ``tf.py_function``
decoding, resizing and augmenting every image with albumentations, every epoch. Both feed the
same model (CNN, then EfficientNet-Lite0 from its ImageNet weights, all layers trained) at
224 px. Uses real photos from ../shared/data/kaggle-mvb when present, else generated ones.
Prints figures, no assertions.

    .venv/bin/python bench/training.py [--images 256] [--batch-size 32] [--train-steps 10]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import albumentations as A
import cv2
import keras
import numpy as np
import psutil
import tensorflow as tf
from PIL import Image

from skinguard_contracts.labels import CLASS_NAMES
from skinguard_contracts.manifest import DatasetManifest
from skinguard_contracts.training_config import TrainingConfig
from skinguard_datasets.layouts import read_file_uri
from skinguard_training.augment import AugmentationPolicy
from skinguard_training.data import SplitData, load_splits, make_dataset
from skinguard_training.image_cache import PixelCache
from skinguard_training.keras_metrics import training_metrics
from skinguard_training.losses import make_loss
from skinguard_training.networks import make_model

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "kaggle-mvb" / "train"
SIZE = 224
STRENGTH = 0.5


class PeakRss:
    """The largest resident memory of this process while the block runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.peak = 0
        self._process = psutil.Process()
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    @contextmanager
    def measuring(self) -> Iterator[PeakRss]:
        self.peak = self._process.memory_info().rss
        self._stop.clear()
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        try:
            yield self
        finally:
            self._stop.set()
            sampler.join()


def pick_images(data: Path, count: int, scratch: Path) -> list[tuple[Path, str]]:
    """``count`` photos, half of each class: real ones when the data set is there."""
    per_class = count // 2
    if all((data / label).is_dir() for label in CLASS_NAMES):
        return [(path, label) for label in CLASS_NAMES for path in sorted((data / label).glob("*.jpg"))[:per_class]]
    rng = np.random.default_rng(0)
    picked = []
    for label in CLASS_NAMES:
        for index in range(per_class):
            path = scratch / f"{label}-{index}.jpg"
            Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)).save(path, quality=90)
            picked.append((path, label))
    return picked


def original_pipeline(images: list[tuple[Path, str]], batch_size: int) -> tf.data.Dataset:
    """The original design: per image, in ``tf.py_function``: read, resize, albumentations."""
    transform = A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.RandomRotate90(p=0.5),
            A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.1, p=0.5),
            A.GaussianBlur(blur_limit=(3, 7), p=0.3),
        ]
    )

    def load_and_augment(path: tf.Tensor) -> np.ndarray:
        pixels = cv2.cvtColor(cv2.imread(path.numpy().decode()), cv2.COLOR_BGR2RGB)
        pixels = cv2.resize(pixels, (SIZE, SIZE))
        return transform(image=pixels)["image"].astype(np.float32)

    def load(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        pixels = tf.py_function(load_and_augment, [path], tf.float32)
        pixels.set_shape((SIZE, SIZE, 3))
        return pixels, label

    paths = [str(path) for path, _ in images]
    labels = [CLASS_NAMES.index(label) for _, label in images]
    dataset = tf.data.Dataset.from_tensor_slices((paths, labels)).shuffle(len(paths), seed=0)
    return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def our_split(images: list[tuple[Path, str]], scratch: Path) -> tuple[SplitData, float]:
    """Decode and cache every image (what the first run pays once); returns the images/s of that."""
    entries = [{"id": str(index), "url": path.as_uri(), "label": label} for index, (path, label) in enumerate(images)]
    ids = [entry["id"] for entry in entries]
    splits = {"train": ids[1:-1], "validation": ids[:1], "test": ids[-1:]}  # only train is used
    export = DatasetManifest.model_validate({"images": entries, "splits": splits})
    started = time.perf_counter()
    loaded = load_splits(
        export, read_file_uri, size=SIZE, cache=PixelCache(scratch / "cache"), arrays_dir=scratch / "arrays"
    )
    return loaded["train"], len(images) / (time.perf_counter() - started)


def pipeline_rate(dataset: tf.data.Dataset) -> float:
    """Images/s of one full epoch, after one batch to warm up."""
    iterator = iter(dataset)
    next(iterator)
    started, count = time.perf_counter(), 0
    for pixels, _ in iterator:
        count += int(pixels.shape[0])
    return count / (time.perf_counter() - started)


class BatchClock(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.ends.append(time.perf_counter())


def training_rate(model_type: str, dataset: tf.data.Dataset, batch_size: int, steps: int) -> float:
    """Images/s of ``steps`` training steps, after one step that traces the graph."""
    weights = "imagenet" if model_type == "EfficientNetLite0" else "none"
    config = TrainingConfig(model_type=model_type, weights=weights, input_size=SIZE, batch_size=batch_size)
    keras.utils.set_random_seed(0)
    model = make_model(config)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=make_loss(config), metrics=training_metrics(0.5))
    clock = BatchClock()
    model.fit(dataset.repeat(), epochs=1, steps_per_epoch=steps + 1, callbacks=[clock], verbose=0)
    return steps * batch_size / (clock.ends[-1] - clock.ends[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-steps", type=int, default=10)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    arguments = parser.parse_args()
    rss = PeakRss()

    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        images = pick_images(arguments.data, arguments.images, scratch)
        source = "kaggle-mvb" if images[0][0].is_relative_to(arguments.data) else "generated"
        print(
            f"{len(images)} {source} images at {SIZE} px, batch {arguments.batch_size}, {psutil.cpu_count()} CPU cores"
        )

        with rss.measuring():
            train, decode_rate = our_split(images, scratch)
        peak = rss.peak / 2**20
        print(f"\nours, first run only: fetch + decode + cache {decode_rate:7.1f} images/s   (peak RSS {peak:.0f} MiB)")

        ours = make_dataset(
            train, arguments.batch_size, shuffle=True, augmentation=AugmentationPolicy(STRENGTH), seed=0
        )
        original = original_pipeline(images, arguments.batch_size)
        print("\ninput pipeline, images/s per epoch (decode/gather + augment + batch):")
        rates = {}
        for name, dataset in (("ours", ours), ("original", original)):
            with rss.measuring():
                rates[name] = pipeline_rate(dataset)
            print(f"  {name:9s} {rates[name]:8.1f}   (peak RSS {rss.peak / 2**20:.0f} MiB)")
        print(f"  ratio     {rates['ours'] / rates['original']:8.1f}x")

        print(f"\ntraining, images/s over {arguments.train_steps} steps (after one warm-up step):")
        for model_type in ("CNN", "EfficientNetLite0"):
            rates = {}
            for name, dataset in (("ours", ours), ("original", original)):
                with rss.measuring():
                    rates[name] = training_rate(model_type, dataset, arguments.batch_size, arguments.train_steps)
                print(f"  {model_type:17s} {name:9s} {rates[name]:7.1f}   (peak RSS {rss.peak / 2**20:.0f} MiB)")
            print(f"  {model_type:17s} ratio     {rates['ours'] / rates['original']:7.2f}x")
    print(f"\npeak RSS of the whole run: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")


if __name__ == "__main__":
    main()
