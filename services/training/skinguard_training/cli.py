"""``skinguard-train``: train, evaluate and export a model from a local image folder.

    skinguard-train --dataset-path DIR --output-dir OUT                  # the default recipe
    skinguard-train --dataset-path DIR --model-type EfficientNetLite0 --epochs 10 --batch-size 32 \\
        --learning-rate 5e-4 --output-dir OUT

``DIR`` is any collection ``skinguard_datasets.layouts`` reads (folders per label, HAM10000,
ISIC-style CSV, ``metadata.json``), split as ``local_dataset`` describes. Any other
``TrainingConfig`` field can come from ``--config config.json``; flags override it. The run goes
through the same pipeline as the training worker; the published model lands in ``OUT/export``
and the split used in ``OUT/dataset_export.json``. Exit status 1 on a bad path, config or dataset.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args

from skinguard_contracts.labels import SPLIT_NAMES
from skinguard_contracts.training_config import ModelType, OptimizerName, TrainingConfig
from skinguard_datasets.layouts import read_file_uri

from .errors import DatasetError
from .image_cache import PixelCache
from .local_dataset import read_local_dataset


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    dataset_path: Path = arguments.dataset_path
    if not dataset_path.is_dir():
        return _fail(f"dataset path {dataset_path} does not exist or is not a directory")
    try:
        config = TrainingConfig.model_validate({**_config_file(arguments.config), **_config_flags(arguments)})
        export = read_local_dataset(
            dataset_path,
            validation_fraction=arguments.validation_fraction,
            test_fraction=arguments.test_fraction,
            seed=config.seed,
        )
    except (ValueError, OSError) as error:  # a bad config or dataset (ValidationError, DatasetError), unreadable file
        return _fail(str(error))

    from .pipeline import run_training  # TensorFlow loads only once the arguments are known to be good

    output_dir: Path = arguments.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "dataset_export.json").write_text(export.model_dump_json(indent=2))
    counts = {name: len(getattr(export.splits, name)) for name in SPLIT_NAMES}
    print(f"images: {counts}; training {config.model_type} for up to {config.epochs} epochs", flush=True)
    try:
        result = run_training(
            export,
            read_file_uri,
            config,
            output_dir,
            on_progress=_print_progress,
            cache=PixelCache(arguments.cache_dir) if arguments.cache_dir else None,
            model_name=arguments.model_name,
            dataset_id=str(dataset_path.resolve()),
            weights_dir=Path(arguments.weights).resolve().parent if arguments.weights else None,
        )
    except DatasetError as error:
        return _fail(str(error))
    evaluation = result.evaluation
    print(
        f"best epoch {result.best_epoch}; test ROC AUC {evaluation['roc_auc']}, "
        f"sensitivity {evaluation['sensitivity']:.3f}, specificity {evaluation['specificity']:.3f} "
        f"at threshold {evaluation['threshold']}\n"
        f"exported to {result.export.directory} (SavedModel {result.export.saved_model_bytes / 1e6:.1f} MB, "
        f"TFLite {result.export.tflite_bytes / 1e6:.1f} MB)"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skinguard-train", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dataset-path", type=Path, required=True, help="folders per label, HAM10000, ISIC CSV or a metadata.json"
    )
    parser.add_argument("--output-dir", type=Path, default=Path("training-output"))
    parser.add_argument("--config", type=Path, help="JSON file of TrainingConfig fields; flags override it")
    parser.add_argument("--model-type", choices=get_args(ModelType))
    parser.add_argument("--weights", help="imagenet, none or the path of a Keras weights file")
    parser.add_argument("--input-size", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--optimizer", choices=get_args(OptimizerName))
    parser.add_argument("--freeze-base", action="store_true", default=None)
    parser.add_argument("--trainable-layers", type=int)
    parser.add_argument("--no-augmentation", dest="augmentation", action="store_false", default=None)
    parser.add_argument("--use-class-weights", action="store_true", default=None)
    parser.add_argument("--use-focal-loss", action="store_true", default=None)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--validation-fraction", type=float, default=0.15, help="when the dataset has no split")
    parser.add_argument("--test-fraction", type=float, default=0.15, help="when the dataset has no split")
    parser.add_argument("--cache-dir", type=Path, help="decoded-image cache (default: OUTPUT_DIR/image-cache)")
    parser.add_argument("--model-name", default="skinguard")
    return parser


_CONFIG_FLAGS = (
    "model_type",
    "weights",
    "input_size",
    "epochs",
    "batch_size",
    "learning_rate",
    "optimizer",
    "freeze_base",
    "trainable_layers",
    "augmentation",
    "use_class_weights",
    "use_focal_loss",
    "seed",
)


def _config_flags(arguments: argparse.Namespace) -> dict[str, Any]:
    given = {name: getattr(arguments, name) for name in _CONFIG_FLAGS if getattr(arguments, name) is not None}
    if given.get("weights") not in (None, "imagenet", "none"):
        given["weights"] = Path(given["weights"]).name  # in the weights directory: its folder
    return given


def _config_file(path: Path | None) -> dict[str, Any]:
    return json.loads(path.read_text()) if path else {}


def _print_progress(epoch: int, batch: int, metrics: dict[str, float]) -> None:
    shown = " ".join(f"{name} {value:.4f}" for name, value in sorted(metrics.items()))
    print(f"epoch {epoch} batch {batch}: {shown}", flush=True)


def _fail(message: str) -> int:
    print(f"skinguard-train: error: {message}", file=sys.stderr)
    return 1
