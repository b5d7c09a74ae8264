"""Recognising collections on disk (no servers)."""

from __future__ import annotations

import pytest

from skinguard_datasets.layouts import LayoutError, discover
from support import images


def test_folder_per_label_below_a_split_directory(tmp_path):
    for label, count in (("benign", 2), ("malignant", 1)):
        folder = tmp_path / "mvb" / "train" / label
        folder.mkdir(parents=True)
        for index in range(count):
            (folder / f"{index}.jpg").write_bytes(images.jpeg(seed=index))
    (tmp_path / "mvb" / "train" / "README.txt").write_text("not an image")
    collection = discover(tmp_path / "mvb" / "train")
    assert collection.layout == "folders" and collection.source == "mvb"
    assert sorted((item.key, item.label) for item in collection.items) == [
        ("benign/0.jpg", "benign"),
        ("benign/1.jpg", "benign"),
        ("malignant/0.jpg", "malignant"),
    ]
    assert not collection.low_resolution


def test_ham10000_maps_diagnoses_and_keeps_metadata(tmp_path):
    (tmp_path / "images").mkdir()
    rows = [
        ("HAM_1", "ISIC_1", "mel", "histo", "55.0", "male", "back"),
        ("HAM_1", "ISIC_2", "mel", "histo", "55.0", "male", "back"),
        ("HAM_2", "ISIC_3", "nv", "follow_up", "", "female", "unknown"),
        ("HAM_3", "ISIC_4", "bkl", "histo", "40.0", "female", "face"),
    ]  # ISIC_4 not shipped
    lines = ["lesion_id,image_id,dx,dx_type,age,sex,localization", *(",".join(row) for row in rows)]
    (tmp_path / "HAM10000_metadata.csv").write_text("\n".join(lines))
    for image_id in ("ISIC_1", "ISIC_2", "ISIC_3"):
        (tmp_path / "images" / f"{image_id}.jpg").write_bytes(images.jpeg(200, 150))
    collection = discover(tmp_path)
    assert collection.layout == "ham10000" and collection.low_resolution
    by_key = {item.key: item for item in collection.items}
    assert set(by_key) == {"ISIC_1", "ISIC_2", "ISIC_3"}
    assert by_key["ISIC_1"].label == "malignant" and by_key["ISIC_3"].label == "benign"
    assert by_key["ISIC_1"].upload_fields == {"source": "ham10000", "lesion_id": "HAM_1", "location": "back"}
    assert "location" not in by_key["ISIC_3"].upload_fields
    details = by_key["ISIC_1"].label_metadata["import"]
    assert (details["dx"], details["age"], details["sex"]) == ("mel", 55.0, "male")
    assert by_key["ISIC_3"].label_metadata["import"]["age"] is None


@pytest.mark.parametrize("setup", ["missing", "empty", "bad-dx"])
def test_unusable_directories_say_why(tmp_path, setup):
    if setup == "empty":
        (tmp_path / "other").mkdir()
    if setup == "bad-dx":
        (tmp_path / "HAM10000_metadata.csv").write_text("lesion_id,image_id,dx\nL,ISIC_9,xyz\n")
        (tmp_path / "ISIC_9.jpg").write_bytes(images.jpeg())
    directory = tmp_path / "nowhere" if setup == "missing" else tmp_path
    with pytest.raises(LayoutError):
        discover(directory)


def test_isic_csv_maps_benign_malignant_and_keeps_patients_and_sites(tmp_path):
    collection_dir = tmp_path / "isic2020"
    (collection_dir / "images").mkdir(parents=True)
    lines = [
        "image_id,patient_id,diagnosis,benign_malignant,target,sex,age_approx,anatom_site",
        "ISIC_1,IP_1,melanoma,malignant,1,male,45.0,torso",
        "ISIC_2,IP_1,nevus,benign,0,male,45.0,",
        "ISIC_3,,unknown,benign,0,female,,unknown",
    ]
    (collection_dir / "metadata.csv").write_text("\n".join(lines))
    for image_id in ("ISIC_1", "ISIC_2", "ISIC_3"):
        (collection_dir / "images" / f"{image_id}.jpg").write_bytes(images.jpeg(256, 256))
    collection = discover(collection_dir)
    assert collection.layout == "isic" and collection.source == "isic2020" and not collection.low_resolution
    by_key = {item.key: item for item in collection.items}
    assert [by_key[key].label for key in ("ISIC_1", "ISIC_2", "ISIC_3")] == ["malignant", "benign", "benign"]
    assert by_key["ISIC_1"].upload_fields == {"source": "isic2020", "patient_id": "IP_1", "location": "torso"}
    assert by_key["ISIC_3"].upload_fields == {"source": "isic2020"}  # no patient, unknown site
    details = by_key["ISIC_1"].label_metadata["import"]
    assert (details["layout"], details["diagnosis"], details["age"], details["sex"]) == (
        "isic",
        "melanoma",
        45.0,
        "male",
    )
    assert by_key["ISIC_3"].label_metadata["import"]["age"] is None


def test_isic_csv_with_an_unknown_label_says_which(tmp_path):
    (tmp_path / "metadata.csv").write_text("image_id,benign_malignant\nISIC_9,indeterminate\n")
    (tmp_path / "ISIC_9.jpg").write_bytes(images.jpeg())
    with pytest.raises(LayoutError, match="unknown benign_malignant 'indeterminate'"):
        discover(tmp_path)
