"""Would re-estimating BatchNorm statistics on a clinic's own unlabelled photos help there?

AdaBN (Li et al. 2016): a network's BatchNorm layers keep the mean and variance of the training
source's features; photos from another clinic arrive with other statistics. Re-estimating them
on that clinic's photos (no labels) is the cheapest unsupervised adaptation there is. Reads the
checkpoint ``bench/quality.py`` left in WORK_DIR and scores isic2020 (4 flips, uncalibrated):
- as trained;
- adapted on half of isic2020's patients and scored on the other half (both ways): what a
  clinic would get from adapting on earlier photos;
- adapted on all of isic2020 (transductive), at a few mixing weights between the two sources'
  statistics.
Labels are never used for the adaptation. Prints each ROC AUC with a bootstrap 95% CI and writes
``WORK_DIR/isic2020-<variant>.csv`` for ``bench/compare_scores.py``.

    .venv/bin/python bench/clinic_adaptation.py WORK_DIR [--cache-dir DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from compare_scores import write_scores  # bench/, where these scripts run from
from diagnosis_scores import best_checkpoint, work_dir_arguments
from patient_ranking import patients
from quality import DATA

from skinguard_datasets.layouts import as_exported_image, discover, read_file_uri
from skinguard_training.image_cache import PixelCache

BATCH = 64


def batch_norms(model) -> list:
    import keras

    return [layer for layer in _layers(model) if isinstance(layer, keras.layers.BatchNormalization)]


def _layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _layers(layer)


def adapt(model, pixels: np.ndarray, source_statistics: list, weight: float) -> None:
    """Set every BatchNorm layer's moving statistics to ``weight`` x the photos' own (their
    running average over batches, each layer seeing the layers before it already adapted)
    + (1 - weight) x the training source's."""
    import keras
    import tensorflow as tf

    norms = batch_norms(model)
    dropouts = [layer for layer in _layers(model) if isinstance(layer, keras.layers.Dropout)]
    rates = [layer.rate for layer in dropouts]
    for layer in dropouts:
        layer.rate = 0.0
    order = np.random.default_rng(0).permutation(len(pixels))
    for step, start in enumerate(range(0, len(pixels), BATCH)):
        for layer in norms:
            layer.momentum = step / (step + 1)  # a cumulative mean of the batches' statistics
        model(tf.cast(tf.constant(pixels[order[start : start + BATCH]]), tf.float32), training=True)
    for layer, (mean, variance) in zip(norms, source_statistics, strict=True):
        layer.moving_mean.assign(weight * layer.moving_mean.numpy() + (1 - weight) * mean)
        layer.moving_variance.assign(weight * layer.moving_variance.numpy() + (1 - weight) * variance)
    for layer, rate in zip(dropouts, rates, strict=True):
        layer.rate = rate


def restore(model, source_statistics: list) -> None:
    for layer, (mean, variance) in zip(batch_norms(model), source_statistics, strict=True):
        layer.moving_mean.assign(mean)
        layer.moving_variance.assign(variance)


def malignant(model, pixels: np.ndarray) -> np.ndarray:
    """p(malignant) as served before calibration: 4 flips, either head (``malignant_probability``)."""
    import tensorflow as tf

    from skinguard_training.model_export import malignant_probability

    return np.concatenate(
        [
            malignant_probability(model, tf.constant(pixels[start : start + BATCH]), "flips").numpy()
            for start in range(0, len(pixels), BATCH)
        ]
    )


def main() -> int:
    arguments = work_dir_arguments(__doc__.split("\n")[0])

    from skinguard_training.data import load_images
    from skinguard_training.quality import bootstrap_auc_interval, roc_auc

    model = best_checkpoint(arguments.work_dir)
    source_statistics = [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in batch_norms(model)]
    held_out = discover(DATA / "isic2020")
    images = [as_exported_image(held_out, item) for item in held_out.items]
    cache = PixelCache(arguments.cache_dir or arguments.work_dir / "image-cache")
    size = model.input_shape[1]
    loaded = load_images("isic2020", images, read_file_uri, size, cache, arguments.work_dir / "scores", lambda: False)
    patient_of = patients()
    ids = sorted({patient_of[Path(image.id).name] for image in images})
    first_half = set(np.random.default_rng(0).permutation(ids)[: len(ids) // 2])
    in_first = np.array([patient_of[Path(image.id).name] in first_half for image in images])

    variants: dict[str, np.ndarray] = {"as-trained": malignant(model, loaded.pixels)}
    cross = np.empty(len(images))
    for adapt_on in (in_first, ~in_first):
        adapt(model, loaded.pixels[adapt_on], source_statistics, 1.0)
        cross[~adapt_on] = malignant(model, loaded.pixels[~adapt_on])
        restore(model, source_statistics)
    variants["adapted-other-patients"] = cross
    for weight in (1.0, 0.5):
        adapt(model, loaded.pixels, source_statistics, weight)
        variants[f"adapted-all-{weight:g}"] = malignant(model, loaded.pixels)
        restore(model, source_statistics)

    print("| isic2020 scores | ROC AUC [95% CI] |")
    print("|---|---|")
    for name, values in variants.items():
        low, high = bootstrap_auc_interval(loaded.labels, values)
        print(f"| {name} | {roc_auc(loaded.labels, values):.3f} [{low:.3f}, {high:.3f}] |")
        write_scores(arguments.work_dir / f"isic2020-{name}.csv", images, values)
    return 0


if __name__ == "__main__":
    sys.exit(main())
