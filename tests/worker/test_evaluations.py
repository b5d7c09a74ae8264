"""External validation as a feature: a queued evaluation of one exact version on any dataset
version, stored, listed and shown on the model card; and the gate's own external check."""

from __future__ import annotations

import json
import uuid

from .conftest import Worker, wait_for
from .test_training_jobs import finished, start_job


async def wait_for_evaluation(client, headers, path: str, evaluation_id: str) -> dict:
    async def state() -> dict:
        return (await client.get(f"{path}/{evaluation_id}", headers=headers)).json()

    import asyncio

    for _ in range(360):
        current = await state()
        if current["state"] in ("succeeded", "failed", "cancelled"):
            return current
        await asyncio.sleep(0.5)
    raise AssertionError(f"evaluation did not finish: {current}")


async def test_a_version_is_gated_on_an_external_dataset_then_evaluated_on_request(
    client, callers, dataset, servers, tmp_path, s3, settings
):
    admin = callers["admin"].headers
    worker = Worker(
        servers,
        tmp_path,
        SKINGUARD_GATE_EXTERNAL_DATASET=dataset["id"],
        SKINGUARD_GATE_EXTERNAL_MIN_AUC="0.0",
        SKINGUARD_GATE_EXTERNAL_MIN_SENSITIVITY="0.0",
    )
    worker.start()
    try:
        job = await start_job(client, callers, dataset)
        done = await wait_for(client, admin, job["id"], finished)
        assert done["state"] == "succeeded", done["error"]
        [version] = (await client.get("/api/models", headers=admin, params={"name": "tiny"})).json()["items"]
        assert [check["name"] for check in version["gate"]["checks"]] == [
            "auc",
            "sensitivity",
            "ece",
            "external_auc",
            "external_sensitivity",
        ]
        assert f"external dataset {dataset['id']}" in version["gate"]["reason"]

        path = "/api/models/tiny/1/evaluations"
        [gate_evaluation] = (await client.get(path, headers=admin)).json()["items"]
        assert gate_evaluation["purpose"] == "gate" and gate_evaluation["state"] == "succeeded"
        assert gate_evaluation["result"]["samples"] == 16  # every image of the dataset

        queued = await client.post(path, headers=admin, json={"dataset_id": dataset["id"], "split": "test"})
        assert queued.status_code == 202, queued.text
        assert queued.json()["state"] == "queued" and queued.json()["purpose"] == "request"
        evaluation = await wait_for_evaluation(client, admin, path, queued.json()["id"])
    finally:
        worker.process.stop()

    assert evaluation["state"] == "succeeded", evaluation["error"]
    result = evaluation["result"]
    assert result["samples"] == 4 and result["split"] == "test" and result["dataset_name"] == "tiny"
    assert {"roc_auc", "roc_auc_ci95", "sensitivity", "specificity", "ece", "confusion_matrix", "threshold"} <= set(
        result
    )
    assert sum(map(sum, result["confusion_matrix"])) == 4
    assert set(result["slices"]) == {"source", "body_site", "sex", "age_band", "diagnosis"}
    metadata = json.loads(s3.get_object(Bucket=settings.s3_bucket, Key="models/tiny/1/metadata.json")["Body"].read())
    assert result["threshold"] == metadata["decision_threshold"]  # the version's own operating point

    prefix = evaluation["artifact_url"].removeprefix(f"s3://{settings.s3_bucket}/")
    assert prefix == f"evaluations/tiny/1/{evaluation['id']}/"
    keys = {
        item["Key"].removeprefix(prefix)
        for item in s3.list_objects_v2(Bucket=settings.s3_bucket, Prefix=prefix)["Contents"]
    }
    assert {"evaluation.json", "plots/evaluation_roc_curve.png", "plots/evaluation_reliability.png"} <= keys

    listed = (await client.get(path, headers=admin)).json()["items"]
    assert [item["id"] for item in listed] == [evaluation["id"], gate_evaluation["id"]]  # newest first

    card = (await client.get("/api/models/tiny/1/card", headers=admin)).json()
    assert card["model"]["version"] == 1 and card["gate"]["promote"] is True
    external = card["metrics"]["external"]
    assert [item["purpose"] for item in external] == ["gate", "request"]
    assert external[1]["samples"] == 4 and external[1]["roc_auc_ci95"] == result["roc_auc_ci95"]
    markdown = s3.get_object(Bucket=settings.s3_bucket, Key="models/tiny/1/model_card.md")["Body"].read().decode()
    assert "external: tiny" in markdown


async def test_evaluation_requests_are_checked_before_anything_is_queued(app, client, callers, dataset):
    from .test_models_api import seed_versions

    await seed_versions(app, dataset["id"])
    admin = callers["admin"].headers
    path = "/api/models/derm/2/evaluations"
    assert (await client.post(path, json={"dataset_id": dataset["id"]})).status_code == 401
    for role in ("annotator", "uploader", "importer"):
        assert (
            await client.post(path, headers=callers[role].headers, json={"dataset_id": dataset["id"]})
        ).status_code == 403
        assert (await client.get(path, headers=callers[role].headers)).status_code == 403
    bad = [
        ({"dataset_id": "not-a-uuid"}, 422),
        ({"dataset_id": dataset["id"], "split": "holdout"}, 422),
        ({"dataset_id": dataset["id"], "extra": 1}, 422),
        ({"dataset_id": str(uuid.uuid4())}, 404),
    ]
    for body, status in bad:
        response = await client.post(path, headers=admin, json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]
    assert (
        await client.post("/api/models/derm/9/evaluations", headers=admin, json={"dataset_id": dataset["id"]})
    ).status_code == 404
    assert (await client.get(path, headers=admin)).json()["items"] == []
    missing_card = await client.get("/api/models/derm/2/card", headers=admin)
    assert missing_card.status_code == 404 and missing_card.json()["error"] == "no_model_card"


async def test_two_evaluations_finishing_together_both_reach_the_model_card(dataset, settings, monkeypatch, tmp_path):
    """The interleaving that once lost an evaluation from the card, forced: the second evaluation
    to finish must wait for the first's commit, then write a card that lists both."""
    import threading
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.orm import sessionmaker

    from skinguard_database import sync_engine
    from skinguard_registry.records import JobState, ModelEvaluation, ModelStatus, ModelVersion
    from skinguard_training import evaluation_job

    engine = sync_engine(settings.database_url)
    sessions = sessionmaker(engine, expire_on_commit=False)
    dataset_id = uuid.UUID(dataset["id"])
    with sessions.begin() as session:
        session.add(
            ModelVersion(
                model_name="race",
                version=1,
                status=ModelStatus.candidate,
                dataset_id=dataset_id,
                artifact_url="s3://bucket/models/race/1/",
                metrics={},
                gate={"promote": False, "reason": "rejected: test"},
            )
        )
        first, second = (
            ModelEvaluation(model_name="race", version=1, dataset_id=dataset_id, state=JobState.running)
            for _ in range(2)
        )
        session.add_all([first, second])
    cards: list[list[str]] = []  # the evaluations each written card listed, in writing order
    monkeypatch.setattr(
        evaluation_job,
        "write_model_card",
        lambda directory, *, version, gate, external: cards.append([item["evaluation_id"] for item in external]),
    )

    class UploadsNothing:
        def upload_file(self, path: str, bucket: str, key: str) -> None:
            pass

    def finish(session, evaluation: ModelEvaluation, finished_at: datetime) -> None:
        row = session.get_one(ModelEvaluation, evaluation.id, with_for_update=True)
        row.state, row.result, row.finished_at = JobState.succeeded, {"roc_auc": 0.5}, finished_at
        evaluation_job.refresh_model_card(session, UploadsNothing(), settings.s3_bucket, "race", 1, tmp_path)

    failures: list[BaseException] = []

    def finish_second() -> None:
        try:
            with sessions.begin() as session:
                finish(session, second, datetime.now(UTC))
        except BaseException as error:  # reported by the test below
            failures.append(error)

    try:
        with sessions.begin() as session:
            finish(session, first, datetime.now(UTC) - timedelta(seconds=1))
            other = threading.Thread(target=finish_second)
            other.start()
            other.join(timeout=1.0)
            assert other.is_alive(), "the second card was written before the first evaluation committed"
            assert cards == [[str(first.id)]]
        other.join(timeout=30)
        assert not other.is_alive() and not failures, failures
        assert cards == [[str(first.id)], [str(first.id), str(second.id)]]
    finally:
        engine.dispose()
