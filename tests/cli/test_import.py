"""``skinguard import`` against the real services (in-process, routed by host): idempotent and resumable."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from skinguard_cli.importer import Endpoints, Journal, run_import
from skinguard_cli.main import main as cli_main
from skinguard_datasets.layouts import discover
from support import images

INGESTION, ANNOTATION = "http://ingestion.test", "http://annotation.test"


class RoutingTransport(httpx.AsyncBaseTransport):
    """Sends each request to the in-process app that owns its host."""

    def __init__(self, apps: dict[str, object]) -> None:
        self.transports = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.transports[request.url.host].handle_async_request(request)


@pytest.fixture
def transport(ingestion_service, annotation_service):
    return RoutingTransport({"ingestion.test": ingestion_service[0], "annotation.test": annotation_service[0]})


@pytest.fixture
def collection_dir(tmp_path):
    root = tmp_path / "clinic"
    for label, seeds in (("benign", (1, 2, 3)), ("malignant", (4, 5))):
        (root / label).mkdir(parents=True)
        for seed in seeds:
            (root / label / f"{seed}.jpg").write_bytes(images.jpeg(seed=seed))
    (root / "benign" / "broken.jpg").write_bytes(images.jpeg(seed=6)[:300])
    (root / "malignant" / "tiny.png").write_bytes(images.png(100, 100, seed=7))
    return root


async def do_import(directory, callers, transport, journal_path):
    journal = Journal(journal_path)
    endpoints = Endpoints(INGESTION, ANNOTATION, callers["importer"].headers["Authorization"].split()[1])
    try:
        return await run_import(
            discover(directory), endpoints, journal, concurrency=4, progress=False, transport=transport
        )
    finally:
        journal.close()


async def counts(ingestion_service) -> tuple[int, int]:
    app, _ = ingestion_service
    async with app.state.engine.connect() as connection:
        images_ = await connection.scalar(text("SELECT count(*) FROM training_images"))
        labels = await connection.scalar(text("SELECT count(*) FROM image_annotations"))
    return images_, labels


async def test_import_then_rerun_adds_nothing(tmp_path, collection_dir, callers, transport, ingestion_service):
    first = await do_import(collection_dir, callers, transport, tmp_path / "journal.jsonl")
    assert (first.imported, first.duplicates, first.labelled) == (5, 0, 5)
    assert sum(first.rejected.values()) == 2
    reasons = " ".join(first.rejected)
    assert "corrupt_image" in reasons and "too_small" in reasons
    assert await counts(ingestion_service) == (5, 5)

    resumed = await do_import(collection_dir, callers, transport, tmp_path / "journal.jsonl")
    assert (resumed.skipped, resumed.imported, resumed.labelled) == (7, 0, 0)

    without_journal = await do_import(collection_dir, callers, transport, tmp_path / "fresh.jsonl")
    assert (without_journal.imported, without_journal.duplicates, without_journal.labelled) == (0, 5, 0)
    assert await counts(ingestion_service) == (5, 5)


async def test_interrupted_import_resumes_where_it_stopped(tmp_path, collection_dir, callers, transport):
    journal_path = tmp_path / "journal.jsonl"
    done = sorted(item.key for item in discover(collection_dir).items)[:3]
    journal_path.write_text("".join(f'{{"key": "{key}", "status": "imported", "image_id": "x"}}\n' for key in done))
    summary = await do_import(collection_dir, callers, transport, journal_path)
    assert summary.skipped == 3
    assert summary.imported + sum(summary.rejected.values()) == 4


async def test_labels_are_recorded_under_the_import_identity(
    tmp_path, collection_dir, callers, transport, annotation_service
):
    await do_import(collection_dir, callers, transport, tmp_path / "journal.jsonl")
    app, _ = annotation_service
    async with app.state.engine.connect() as connection:
        annotators = (await connection.execute(text("SELECT DISTINCT annotator_id FROM image_annotations"))).scalars()
        labels = dict(
            (
                await connection.execute(text("SELECT a.metadata->'import'->>'file', a.label FROM image_annotations a"))
            ).all()
        )
    assert list(annotators) == [callers["importer"].user_id]
    assert labels["malignant/4.jpg"] == "malignant" and labels["benign/1.jpg"] == "benign"


async def test_ham_layout_imports_low_resolution_copies_with_lesions(tmp_path, callers, transport, ingestion_service):
    root = tmp_path / "ham"
    (root / "images").mkdir(parents=True)
    rows = [
        "lesion_id,image_id,dx,dx_type,age,sex,localization",
        "HAM_1,ISIC_1,mel,histo,60.0,male,back",
        "HAM_1,ISIC_2,mel,histo,60.0,male,back",
        "HAM_2,ISIC_3,nv,follow_up,35.0,female,trunk",
    ]
    (root / "HAM10000_metadata.csv").write_text("\n".join(rows))
    for index in (1, 2, 3):
        (root / "images" / f"ISIC_{index}.jpg").write_bytes(images.jpeg(200, 150, seed=40 + index))
    summary = await do_import(root, callers, transport, tmp_path / "journal.jsonl")
    assert (summary.imported, sum(summary.rejected.values())) == (3, 0)
    app, _ = ingestion_service
    async with app.state.engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT lesion_id, source, metadata->'flags' FROM training_images ORDER BY lesion_id")
            )
        ).all()
    assert [row[0] for row in rows] == ["HAM_1", "HAM_1", "HAM_2"]
    assert all(row[1] == "ham10000" and row[2] == ["low_resolution"] for row in rows)


def test_missing_directory_exits_1_with_a_reason(tmp_path, capsys):
    assert cli_main(["import", str(tmp_path / "nowhere"), "--api-key", "x"]) == 1
    assert "not a directory" in capsys.readouterr().err


@pytest.mark.skipif(not images.real_images(), reason="../shared/data is not present")
async def test_real_kaggle_images_import(tmp_path, callers, transport):
    root = tmp_path / "real"
    (root / "benign").mkdir(parents=True)
    for path in images.real_images(count=4):
        (root / "benign" / path.name).write_bytes(path.read_bytes())
    summary = await do_import(root, callers, transport, tmp_path / "journal.jsonl")
    assert summary.imported == 4 and not summary.rejected


async def test_identical_files_are_labelled_once_and_conflicts_reported(
    tmp_path, callers, transport, ingestion_service
):
    root = tmp_path / "dupes"
    for label in ("benign", "malignant"):
        (root / label).mkdir(parents=True)
    same = images.jpeg(seed=60)
    (root / "malignant" / "a.jpg").write_bytes(same)
    (root / "malignant" / "b.jpg").write_bytes(same)  # identical, same label: one image, one label
    contested = images.jpeg(seed=61)
    (root / "benign" / "c.jpg").write_bytes(contested)
    (root / "malignant" / "c.jpg").write_bytes(contested)  # identical, different labels: for a person
    first = await do_import(root, callers, transport, tmp_path / "one.jsonl")
    assert (first.imported, first.duplicates, first.labelled) == (1, 1, 1)
    assert list(first.rejected.values()) == [1] and "conflicting_labels" in next(iter(first.rejected))
    again = await do_import(root, callers, transport, tmp_path / "two.jsonl")
    assert (again.imported, again.duplicates, again.labelled) == (0, 2, 0)
    assert await counts(ingestion_service) == (1, 1)


async def test_isic_csv_import_pseudonymises_patients_and_is_idempotent(
    tmp_path, callers, transport, ingestion_service, annotation_service
):
    root = tmp_path / "clinic-isic"
    (root / "images").mkdir(parents=True)
    rows = [
        "image_id,patient_id,diagnosis,benign_malignant,target,sex,age_approx,anatom_site",
        "ISIC_1,IP_7,melanoma,malignant,1,male,60.0,torso",
        "ISIC_2,IP_7,nevus,benign,0,male,60.0,torso",
        "ISIC_3,IP_8,unknown,benign,0,female,35.0,lower extremity",
    ]
    (root / "metadata.csv").write_text("\n".join(rows))
    for index in (1, 2, 3):
        (root / "images" / f"ISIC_{index}.jpg").write_bytes(images.jpeg(256, 256, seed=70 + index))
    first = await do_import(root, callers, transport, tmp_path / "one.jsonl")
    assert (first.imported, first.labelled, sum(first.rejected.values())) == (3, 3, 0)
    again = await do_import(root, callers, transport, tmp_path / "two.jsonl")  # no journal: all duplicates
    assert (again.imported, again.duplicates, again.labelled) == (0, 3, 0)
    assert await counts(ingestion_service) == (3, 3)

    app, _ = ingestion_service
    async with app.state.engine.connect() as connection:
        stored = (
            await connection.execute(
                text("SELECT patient_pseudonym, source, metadata->>'location' FROM training_images ORDER BY created_at")
            )
        ).all()
    pseudonyms = [row[0] for row in stored]
    assert len(set(pseudonyms)) == 2 and all(p and p.startswith("p_") for p in pseudonyms)
    assert not any("IP_7" in str(row) or "IP_8" in str(row) for row in stored)  # the id itself is not stored
    assert {row[1] for row in stored} == {"clinic-isic"} and "torso" in {row[2] for row in stored}
    annotation_app, _ = annotation_service
    async with annotation_app.state.engine.connect() as connection:
        details = (
            await connection.execute(text("SELECT metadata->'import'->>'diagnosis', label FROM image_annotations"))
        ).all()
    assert sorted(details) == [("melanoma", "malignant"), ("nevus", "benign"), ("unknown", "benign")]
