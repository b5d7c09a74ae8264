"""Model-quality benchmark: the default recipe on a leave-one-source-out plan.

Trains ``TrainingConfig()`` (the recipe a job posted with ``{}`` gets, with the input size and
epochs below) through the same ``run_training`` the worker runs, on HAM10000 from
../shared/data (optionally with kaggle-mvb), split by lesion and near-duplicate cluster, and
holds ISIC 2020 out entirely: no photo of it is seen in training, calibration or threshold
choice. The exported SavedModel (TTA and calibration inside, as served) is then scored on the
HAM test split and on isic2020 by the same code as an evaluation job. Prints, for both: ROC AUC
[bootstrap 95% CI], sensitivity and specificity at the operating point chosen on HAM
validation, ECE; and minutes per epoch and peak RSS. No assertions.

    .venv/bin/python bench/quality.py [--input-size 160] [--epochs 8] [--with-kaggle] [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from compare_scores import write_scores  # bench/, where this script runs from

from skinguard_contracts.model_files import ModelMetadata
from skinguard_contracts.training_config import TrainingConfig
from skinguard_datasets.layouts import as_exported_image, discover, read_file_uri
from skinguard_training.image_cache import PixelCache
from skinguard_training.local_dataset import collections_manifest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FRACTIONS = {"train": 0.7, "validation": 0.15, "test": 0.15}


def describe(name: str, evaluation: dict) -> str:
    auc, sensitivity, specificity = (
        f"{evaluation[metric]:.3f} [{evaluation[f'{metric}_ci95'][0]:.3f}, {evaluation[f'{metric}_ci95'][1]:.3f}]"
        for metric in ("roc_auc", "sensitivity", "specificity")
    )
    return (
        f"| {name} | {evaluation['samples']} | {evaluation['malignant']} | {auc} | {sensitivity} | {specificity} "
        f"| {evaluation['ece']:.3f} |"
    )


def test_time_augmentation_effect(
    work_dir: Path, result, export, external, cache, trained_on: str
) -> dict[str, tuple[float, float]]:
    """ROC AUC of the best epoch's network on one view against the average of the 4 flips."""
    import keras
    import numpy as np
    import tensorflow as tf

    from skinguard_training.data import load_images
    from skinguard_training.model_export import malignant_probability
    from skinguard_training.quality import roc_auc

    model = keras.saving.load_model(result.checkpoint, compile=False)
    size = model.input_shape[1]
    predict = tf.function(lambda images: malignant_probability(model, images, "none"))
    effects = {}
    for name, images in ((f"{trained_on} test", export.split("test")), ("isic2020", external)):
        loaded = load_images(name, images, read_file_uri, size, cache, work_dir / "tta", lambda: False)
        views = [lambda x: x, lambda x: x[:, :, ::-1], lambda x: x[:, ::-1], lambda x: x[:, ::-1, ::-1]]
        scores = np.stack(
            [
                np.concatenate(
                    [
                        predict(tf.constant(np.ascontiguousarray(view(loaded.pixels[i : i + 64])))).numpy()
                        for i in range(0, len(loaded), 64)
                    ]
                )
                for view in views
            ]
        )
        effects[name] = (roc_auc(loaded.labels, scores[0]), roc_auc(loaded.labels, scores.mean(axis=0)))
    return effects


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--input-size", type=int, default=TrainingConfig().input_size)
    parser.add_argument("--epochs", type=int, default=TrainingConfig().epochs)
    parser.add_argument("--with-kaggle", action="store_true", help="train on ham10000 + kaggle-mvb")
    parser.add_argument("--work-dir", type=Path, default=Path(".cache/bench-quality"))
    parser.add_argument(
        "--cache-dir", type=Path, help="decoded pixels, shared between runs (default: WORK_DIR/image-cache)"
    )
    parser.add_argument("--config", type=json.loads, default={}, help="more TrainingConfig fields, as JSON")
    arguments = parser.parse_args()
    if not (DATA / "ham10000").is_dir() or not (DATA / "isic2020").is_dir():
        print(f"bench-quality needs {DATA}/ham10000 and {DATA}/isic2020", file=sys.stderr)
        return 1

    from skinguard_training.evaluation_job import evaluate_directory
    from skinguard_training.pipeline import run_training

    config = TrainingConfig(**{"input_size": arguments.input_size, "epochs": arguments.epochs, **arguments.config})
    started = time.monotonic()
    collections = [discover(DATA / "ham10000")]
    if arguments.with_kaggle:
        collections.append(discover(DATA / "kaggle-mvb" / "train"))
    export = collections_manifest(collections, FRACTIONS, config.seed)
    held_out = discover(DATA / "isic2020")
    external = [as_exported_image(held_out, item) for item in held_out.items]
    counts = {name: len(export.splits.of(name)) for name in FRACTIONS}
    trained_on = " + ".join(collection.source for collection in collections)  # "ham10000" by default
    print(f"training sources: {trained_on}; split {counts}")
    print(
        f"held out: isic2020, {len(external)} photos; recipe: {config.model_dump(exclude_defaults=True) or 'defaults'}"
    )
    print(f"input {config.input_size} px, {config.epochs} epochs, TTA {config.test_time_augmentation}", flush=True)

    epoch_ends: list[float] = []
    trained_at = time.monotonic()

    def on_progress(epoch: int, batch: int, metrics: dict[str, float]) -> None:
        if "val_auc" in metrics:
            epoch_ends.append(time.monotonic())
            print(
                f"epoch {epoch}: val AUC {metrics['val_auc']:.4f} ({(epoch_ends[-1] - trained_at) / 60:.1f} min)",
                flush=True,
            )

    work_dir = arguments.work_dir
    cache = PixelCache(arguments.cache_dir or work_dir / "image-cache")
    result = run_training(export, read_file_uri, config, work_dir / "run", on_progress, cache=cache)
    outcome = evaluate_directory(
        result.export.directory, external, read_file_uri, cache=cache, work_dir=work_dir / "isic2020"
    )
    tta = test_time_augmentation_effect(work_dir, result, export, external, cache, trained_on)
    per_epoch = (epoch_ends[-1] - trained_at) / len(epoch_ends) / 60 if epoch_ends else float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    operating = result.operating_point
    print()
    print(
        f"operating point ({trained_on} validation, target sensitivity {config.target_sensitivity}): threshold "
        f"{operating.threshold:.4f}, validation sensitivity {operating.sensitivity:.3f}, specificity "
        f"{operating.specificity:.3f}; calibration {result.calibrator.method}; best epoch {result.best_epoch}"
    )
    if operating.sensitivity_by_diagnosis:
        each = ", ".join(f"{code} {value:.3f}" for code, value in sorted(operating.sensitivity_by_diagnosis.items()))
        print(f"target held per malignant diagnosis: validation sensitivity {each}")
    print("| data | photos | malignant | ROC AUC [95% CI] | sensitivity [95% CI] | specificity [95% CI] | ECE |")
    print("|---|---|---|---|---|---|---|")
    print(describe(f"{trained_on} test split (training clinics)", result.evaluation))
    print(describe("isic2020 (held out: other clinics)", outcome.evaluation))
    print(f"ECE on the {trained_on} test split before calibration: {result.evaluation['ece_uncalibrated']:.3f}")
    by_diagnosis = result.evaluation.get("slices", {}).get("diagnosis", {})
    found = ", ".join(
        f"{code} {by_diagnosis[code]['sensitivity']:.3f} of {by_diagnosis[code]['malignant']}"
        for code in ("mel", "bcc", "akiec")
        if by_diagnosis.get(code, {}).get("sensitivity") is not None
    )
    print(f"sensitivity on the {trained_on} test split per malignant diagnosis: {found or 'no diagnoses'}")
    metadata = ModelMetadata.model_validate_json(result.metadata_path.read_text())
    print(f"on-device formats on the {trained_on} test split (each run by its own runtime):")
    print("| format | MB | ROC AUC | AUC drop | sensitivity | specificity |")
    print("|---|---|---|---|---|---|")
    saved_mb = metadata.sizes.get("saved_model_bytes", 0) / 1e6
    print(
        f"| SavedModel | {saved_mb:.1f} | {result.evaluation['roc_auc']:.4f} | — "
        f"| {result.evaluation['sensitivity']:.3f} | {result.evaluation['specificity']:.3f} |"
    )
    for device in metadata.devices:
        print(
            f"| {device.format} | {device.bytes / 1e6:.1f} | {device.test_auc:.4f} | {device.auc_drop:+.4f} "
            f"| {device.test_sensitivity:.3f} | {device.test_specificity:.3f} |"
        )
    for format_name, reason in metadata.devices_unavailable.items():
        print(f"| {format_name} | not published: {reason} | | | | |")
    for name, (single, flips) in tta.items():
        print(f"test-time augmentation, uncalibrated ROC AUC on {name}: one view {single:.4f}, 4 flips {flips:.4f}")
    print(
        f"minutes per epoch: {per_epoch:.2f}; peak RSS {peak:.2f} GiB; "
        f"total {(time.monotonic() - started) / 60:.1f} min"
    )
    (work_dir / "isic2020-evaluation.json").write_text(json.dumps(outcome.evaluation, indent=2))
    # Each photo's served probability, for paired comparisons of recipes on the same photos.
    write_scores(work_dir / "isic2020-scores.csv", external, outcome.probabilities)
    return 0


if __name__ == "__main__":
    sys.exit(main())
