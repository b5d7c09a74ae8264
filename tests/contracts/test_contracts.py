"""Every contract between services round-trips through JSON and refuses what breaks it."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from skinguard_contracts import keys
from skinguard_contracts.labels import CLASS_NAMES, DIAGNOSES, MALIGNANT_DIAGNOSES, SPLIT_NAMES, diagnosis_code
from skinguard_contracts.manifest import DatasetHeader, DatasetManifest, ExportedImage, Splits
from skinguard_contracts.model_files import ORIGINAL_RISK_RULES, ModelCard, ModelMetadata, RiskThresholds
from skinguard_contracts.tasks import cancel_key
from skinguard_contracts.versions import IndexedVersion, VersionsIndex


def test_the_bucket_layout() -> None:
    job = uuid.UUID(int=7)
    assert keys.image_key("ab12") == "images/ab12"
    assert keys.dataset_manifest_key(job) == f"datasets/{job}/manifest.json"
    assert keys.job_dataset_key(job) == f"jobs/{job}/dataset.json"
    assert keys.model_prefix("skinguard", 3) == "models/skinguard/3/"
    assert keys.versions_index_key("skinguard") == "models/skinguard/versions.json"
    assert keys.model_metadata_key("skinguard", 3) == "models/skinguard/3/metadata.json"
    assert keys.model_card_key("skinguard", 3) == "models/skinguard/3/model_card.json"
    assert keys.evaluation_prefix("skinguard", 3, job) == f"evaluations/skinguard/3/{job}/"
    assert keys.key_of_s3_url("s3://bucket/images/ab12", "bucket") == "images/ab12"
    with pytest.raises(ValueError, match="not an object of bucket"):
        keys.key_of_s3_url("s3://other/images/ab12", "bucket")
    assert cancel_key(job) == f"skinguard:training-job:{job}:cancel"


def test_the_label_vocabulary() -> None:
    assert CLASS_NAMES == ("benign", "malignant") and SPLIT_NAMES == ("train", "validation", "test")
    assert MALIGNANT_DIAGNOSES == {"mel", "bcc", "akiec"} and set(DIAGNOSES) == {
        *MALIGNANT_DIAGNOSES,
        "nv",
        "bkl",
        "df",
        "vasc",
    }
    assert (diagnosis_code("Melanoma"), diagnosis_code("lentigo NOS"), diagnosis_code("nv")) == ("mel", "bkl", "nv")
    assert diagnosis_code("unknown") is None and diagnosis_code(None) is None


def manifest() -> DatasetManifest:
    images = [
        ExportedImage(id=f"i{n}", url=f"s3://b/images/{n}", label=CLASS_NAMES[n % 2], metadata={"source": "c"})
        for n in range(4)
    ]
    return DatasetManifest(
        dataset=DatasetHeader(id="d", name="derm", version=2, seed=1, image_count=4, exported_images=4),
        images=images,
        splits=Splits(train=["i0", "i1"], validation=["i2"], test=["i3"]),
    )


def test_a_dataset_manifest_round_trips_and_leaves_out_erased_images() -> None:
    original = manifest()
    assert DatasetManifest.model_validate_json(original.model_dump_json()) == original
    assert [image.id for image in original.split("train")] == ["i0", "i1"]
    smaller = original.without({"i1", "i3"})
    assert smaller.splits == Splits(train=["i0"], validation=["i2"], test=[])
    assert smaller.dataset.exported_images == 2 and smaller.empty_splits() == ["test"]


@pytest.mark.parametrize(
    ("splits", "message"),
    [
        ({"train": ["i0", "nope"]}, "lists images that are not in the export"),
        ({"train": ["i0"], "test": ["i0"]}, "repeats images"),
        ({"train": ["i0", "i0"]}, "repeats images"),
    ],
)
def test_a_manifest_with_broken_splits_is_refused(splits: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        DatasetManifest.model_validate({**manifest().model_dump(), "splits": splits})


def test_label_fields_are_found_where_imports_keep_them() -> None:
    image = ExportedImage(
        id="x", url="s3://b/k", label="malignant", metadata={"label_metadata": {"import": {"dx": "bcc", "age": 70}}}
    )
    assert (image.label_field("age"), image.diagnosis) == (70, "bcc")


def test_stored_manifests_hold_no_personal_data() -> None:
    personal = {"notes": "seen by Dr A, patient anxious", "lesion_id": "L-7", "patient_pseudonym": "p-9"}
    image = ExportedImage(
        id="x",
        url="s3://b/images/ab",
        label="malignant",
        metadata={
            **personal,
            "sha256": "ab",
            "group": "g-x",
            "source": "clinic-a",
            "location": "back",
            "width": 600,
            "label_metadata": {"comment": "free text", "import": {"dx": "mel", "age": 70, "image_id": "ISIC_1"}},
        },
    )
    full = DatasetManifest(images=[image], splits=Splits(train=["x"]))
    membership, for_worker = full.membership(), full.for_worker()
    assert membership.images[0].metadata == {
        "sha256": "ab",
        "group": "g-x",
        "source": "clinic-a",
        "label_metadata": {"dx": "mel"},
    }
    worker_image = for_worker.images[0]
    assert worker_image.metadata["location"] == "back" and worker_image.metadata["label_metadata"] == {
        "dx": "mel",
        "age": 70,
    }
    for stored in (membership, for_worker):
        text = stored.model_dump_json()
        assert not any(value in text for value in (*personal.values(), "free text", "ISIC_1"))
        assert stored.splits == full.splits and stored.images[0].diagnosis == "mel"


def test_the_versions_index_round_trips_and_refuses_doubles() -> None:
    index = VersionsIndex(
        model="m",
        versions=[
            IndexedVersion(version=1, status="archived"),
            IndexedVersion(version=2, status="promoted", labels=["stable"]),
        ],
    )
    assert VersionsIndex.model_validate_json(index.model_dump_json()) == index and index.promoted() == [2]
    with pytest.raises(ValidationError, match="lists a version twice"):
        VersionsIndex(model="m", versions=[IndexedVersion(version=1, status="promoted")] * 2)
    with pytest.raises(ValidationError, match="gives a label to two versions"):
        VersionsIndex(
            model="m",
            versions=[
                IndexedVersion(version=1, status="promoted", labels=["stable"]),
                IndexedVersion(version=2, status="candidate", labels=["stable"]),
            ],
        )


def test_model_metadata_round_trips_and_old_files_read_with_defaults() -> None:
    metadata = ModelMetadata(
        input_size=160,
        decision_threshold=0.08,
        risk_thresholds=RiskThresholds(
            benign_low=0.98, benign_low_medium=0.95, malignant_high=0.5, malignant_medium_high=0.2
        ),
        calibration={"method": "temperature", "temperature": 1.4},
    )
    assert ModelMetadata.model_validate_json(metadata.model_dump_json()) == metadata
    old = ModelMetadata.model_validate_json('{"model_name": "skinguard", "input_size": 224, "something_new": 1}')
    assert (old.decision_threshold, old.risk_thresholds) == (0.5, ORIGINAL_RISK_RULES)
    with pytest.raises(ValidationError, match="benign_low must exceed"):
        RiskThresholds(benign_low=0.5, benign_low_medium=0.9, malignant_high=0.8, malignant_medium_high=0.6)


def test_a_model_card_round_trips_and_its_public_part_hides_internal_ids() -> None:
    card = ModelCard(
        model={"name": "skinguard", "version": 4, "code_version": "abc"},
        intended_use="triage",
        not_a_diagnosis="This is not a diagnosis.",
        training_data={"id": "d-1", "sources": {"ham10000": {"benign": 1, "malignant": 1}}},
        recipe={},
        operating_point={"decision_threshold": 0.1},
        calibration={"method": "temperature"},
        risk_levels={},
        metrics={
            "in_distribution": {"roc_auc": 0.9},
            "external": [{"dataset_id": "d-9", "evaluation_id": "e", "roc_auc": 0.8}],
        },
        slices={},
        gate={"policy": {}},
        limitations=["skin type not recorded"],
    )
    assert ModelCard.model_validate_json(card.model_dump_json()) == card
    public = card.public()
    assert "code_version" not in public["model"] and "gate" not in public and "id" not in public["training_data"]
    assert public["metrics"]["external"] == [{"roc_auc": 0.8}]
