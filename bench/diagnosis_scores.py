"""What a diagnosis-level head's outputs rank best on photos from another clinic.

A model trained with ``label_granularity: "diagnosis"`` serves p(malignant) as the sum of the
malignant diagnoses (melanoma, basal cell carcinoma, actinic keratosis / Bowen's). A clinic
whose malignant photos are melanomas alone (isic2020) may be served better by p(melanoma), or by
melanoma against nevus. Reads the checkpoint ``bench/quality.py --config
'{"label_granularity": "diagnosis"}'`` left in WORK_DIR, scores HAM's test split and isic2020
with the 4 flips (uncalibrated), and prints each score's ROC AUC with a bootstrap 95% CI; writes
``WORK_DIR/isic2020-<score>.csv`` for ``bench/compare_scores.py``.

    .venv/bin/python bench/diagnosis_scores.py WORK_DIR [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from compare_scores import write_scores  # bench/, where these scripts run from
from quality import DATA, FRACTIONS

from skinguard_contracts.training_config import TrainingConfig
from skinguard_datasets.layouts import as_exported_image, discover, read_file_uri
from skinguard_training.image_cache import PixelCache
from skinguard_training.local_dataset import collections_manifest
from skinguard_training.targets import DIAGNOSIS_CLASSES, MALIGNANT_OUTPUTS

MELANOMA, NEVUS = DIAGNOSIS_CLASSES.index("mel"), DIAGNOSIS_CLASSES.index("nv")
SCORES = {
    "malignant-sum": lambda p: p[:, list(MALIGNANT_OUTPUTS)].sum(axis=1),  # what is served
    "melanoma": lambda p: p[:, MELANOMA],
    "melanoma-vs-nevus": lambda p: p[:, MELANOMA] / (p[:, MELANOMA] + p[:, NEVUS]),
}


def diagnosis_probabilities(model, pixels: np.ndarray) -> np.ndarray:
    """Per photo, each diagnosis's softmax output averaged over the 4 flips."""
    import tensorflow as tf

    from skinguard_training.model_export import views

    out = []
    for start in range(0, len(pixels), 64):
        batch = tf.cast(tf.constant(pixels[start : start + 64]), tf.float32)
        seen = views(batch, "flips")
        outputs = model(tf.concat(seen, axis=0), training=False).numpy()
        out.append(outputs.reshape(len(seen), len(batch), -1).mean(axis=0))
    return np.concatenate(out)


def work_dir_arguments(description: str) -> argparse.Namespace:
    """``WORK_DIR`` (what ``bench/quality.py`` left) and ``--cache-dir`` (decoded pixels)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("--cache-dir", type=Path)
    return parser.parse_args()


def best_checkpoint(work_dir: Path):
    """The best epoch's network ``bench/quality.py`` kept in ``work_dir`` (a Keras model)."""
    import keras

    import skinguard_training.networks  # noqa: F401 - registers the custom layers the checkpoint names

    return keras.saving.load_model(next((work_dir / "run" / "checkpoints").glob("*.keras")), compile=False)


def main() -> int:
    arguments = work_dir_arguments(__doc__.split("\n")[0])

    from skinguard_training.data import load_images
    from skinguard_training.quality import bootstrap_auc_interval, roc_auc

    model = best_checkpoint(arguments.work_dir)
    if model.output_shape[-1] != len(DIAGNOSIS_CLASSES):
        print(f"{arguments.work_dir} holds a two-class head; train with label_granularity 'diagnosis'", file=sys.stderr)
        return 1
    export = collections_manifest([discover(DATA / "ham10000")], FRACTIONS, TrainingConfig().seed)
    held_out = discover(DATA / "isic2020")
    external = [as_exported_image(held_out, item) for item in held_out.items]
    cache = PixelCache(arguments.cache_dir or arguments.work_dir / "image-cache")
    size = model.input_shape[1]
    print("| score | HAM test AUC [95% CI] | isic2020 AUC [95% CI] |")
    print("|---|---|---|")
    rows: dict[str, list[str]] = {name: [] for name in SCORES}
    for name, images in (("HAM test", export.split("test")), ("isic2020", external)):
        loaded = load_images(name, images, read_file_uri, size, cache, arguments.work_dir / "scores", lambda: False)
        probabilities = diagnosis_probabilities(model, loaded.pixels)
        for score, of in SCORES.items():
            values = of(probabilities)
            low, high = bootstrap_auc_interval(loaded.labels, values)
            rows[score].append(f"{roc_auc(loaded.labels, values):.3f} [{low:.3f}, {high:.3f}]")
            if name == "isic2020":
                write_scores(arguments.work_dir / f"isic2020-{score}.csv", images, values)
    for score, cells in rows.items():
        print(f"| {score} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
