from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skinguard_training.cli import main
from skinguard_training.errors import DatasetError
from skinguard_training.local_dataset import read_local_dataset

from .conftest import lesion_pixels


def _label_folders(root: Path, per_label: int = 12) -> Path:
    for label in ("benign", "malignant"):
        (root / label).mkdir(parents=True)
        for index in range(per_label):
            Image.fromarray(lesion_pixels(label, seed=index + 1000 * (label == "malignant"))).save(
                root / label / f"{index}.jpg"
            )
    return root


def test_cli_trains_and_exports_from_a_folder_per_label(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    dataset = _label_folders(tmp_path / "dataset")
    output = tmp_path / "out"

    status = main(
        [
            "--dataset-path", str(dataset), "--output-dir", str(output),
            "--model-type", "CNN", "--input-size", "32", "--epochs", "1", "--batch-size", "8",
            "--learning-rate", "0.001", "--use-class-weights", "--use-focal-loss",
        ]
    )  # fmt: skip

    assert status == 0
    metadata = json.loads((output / "export" / "metadata.json").read_text())
    assert metadata["config"]["use_focal_loss"] and metadata["config"]["use_class_weights"]
    assert metadata["config"]["epochs"] == 1 and metadata["input_size"] == 32
    assert (output / "export" / "saved_model.pb").is_file()
    split = json.loads((output / "dataset_export.json").read_text())["splits"]
    assert sorted(len(ids) for ids in split.values()) == [4, 4, 16]
    printed = capsys.readouterr().out
    assert "epoch 1 batch 2" in printed and "test ROC AUC" in printed


def test_cli_refuses_a_missing_dataset_path(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["--dataset-path", str(tmp_path / "nowhere")]) == 1
    assert "dataset path" in capsys.readouterr().err


def test_cli_refuses_an_invalid_config(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    dataset = _label_folders(tmp_path / "dataset", per_label=2)
    assert main(["--dataset-path", str(dataset), "--model-type", "CNN", "--weights", "imagenet"]) == 1
    assert "CNN has no ImageNet weights" in capsys.readouterr().err


def test_metadata_json_with_splits_and_groups(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    records = []
    for index in range(6):
        label = ("benign", "malignant")[index % 2]
        Image.fromarray(lesion_pixels(label, index)).save(tmp_path / "images" / f"{index}.png")
        split = ("train", "train", "validation", "validation", "test", "test")[index]
        records.append(
            {"image_path": f"images/{index}.png", "label": label, "split": split, "group": f"lesion-{index}"}
        )
    (tmp_path / "metadata.json").write_text(json.dumps({"images": records}))

    export = read_local_dataset(tmp_path, validation_fraction=0.15, test_fraction=0.15, seed=0)

    source = tmp_path.name  # ids are "<source>/<path>", the source being the folder's name
    assert export.splits.test == [f"{source}/images/4.png", f"{source}/images/5.png"]
    (image,) = [image for image in export.images if image.id == f"{source}/images/0.png"]
    assert image.url == (tmp_path / "images" / "0.png").resolve().as_uri()
    assert image.metadata["lesion_id"] == "lesion-0" and image.metadata["source"] == source


def test_metadata_json_takes_the_original_designs_path_key(tmp_path: Path) -> None:
    Image.fromarray(lesion_pixels("benign", 0)).save(tmp_path / "a.png")
    Image.fromarray(lesion_pixels("malignant", 1)).save(tmp_path / "b.png")
    records = [
        {"path": "a.png", "label": "benign", "split": "train"},
        {"path": "b.png", "label": "malignant", "split": "test"},
    ]
    (tmp_path / "metadata.json").write_text(json.dumps(records))
    export = read_local_dataset(tmp_path, validation_fraction=0.15, test_fraction=0.15, seed=0)
    assert [image.label for image in export.images] == ["benign", "malignant"]
    assert export.splits.test == [f"{tmp_path.name}/b.png"]


def test_metadata_json_giving_splits_for_some_images_only_is_refused(tmp_path: Path) -> None:
    Image.fromarray(lesion_pixels("benign", 0)).save(tmp_path / "a.png")
    records = [{"image_path": "a.png", "label": "benign", "split": "train"}, {"image_path": "a.png", "label": "benign"}]
    (tmp_path / "metadata.json").write_text(json.dumps(records))
    with pytest.raises(DatasetError, match="for some images only"):
        read_local_dataset(tmp_path, validation_fraction=0.15, test_fraction=0.15, seed=0)


def test_a_folder_without_either_layout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no images"):
        read_local_dataset(tmp_path, validation_fraction=0.15, test_fraction=0.15, seed=0)


def test_near_duplicates_and_groups_stay_in_one_split(tmp_path: Path) -> None:
    dataset = _label_folders(tmp_path, per_label=20)
    original = np.asarray(Image.open(dataset / "benign" / "0.jpg"))
    twins = {
        "twin-flipped.jpg": original[:, ::-1],
        "twin-rotated.jpg": np.rot90(original),
        "twin-dimmer.jpg": original * 0.8,
    }
    for name, pixels in twins.items():
        Image.fromarray(pixels.astype(np.uint8)).save(dataset / "benign" / name)

    for seed in range(5):
        export = read_local_dataset(dataset, validation_fraction=0.2, test_fraction=0.2, seed=seed)
        split_of = {
            image_id: name for name in ("train", "validation", "test") for image_id in getattr(export.splits, name)
        }
        assert len({split_of[f"{dataset.name}/benign/{name}"] for name in ["0.jpg", *twins]}) == 1
