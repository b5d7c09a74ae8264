"""People's decisions on model versions: promote and roll back, and the index model-sync reads."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

from skinguard_registry.records import ModelStatus, ModelVersion


async def seed_versions(app, dataset_id: str) -> None:
    """Version 1 promoted an hour ago then archived, 2 promoted now, 3 rejected by the gate."""
    now = datetime.now(UTC)
    async with app.state.sessionmaker() as session, session.begin():
        for number, status, promoted_at, auc in (
            (1, ModelStatus.archived, now - timedelta(hours=1), 0.80),
            (2, ModelStatus.promoted, now - timedelta(minutes=5), 0.85),
            (3, ModelStatus.rejected, None, 0.60),
        ):
            session.add(
                ModelVersion(
                    model_name="derm",
                    version=number,
                    status=status,
                    dataset_id=uuid.UUID(dataset_id),
                    artifact_url=f"s3://bucket/models/derm/{number}/",
                    metrics={"roc_auc": auc},
                    gate={"promote": status is not ModelStatus.rejected},
                    test_auc=auc,
                    promoted_at=promoted_at,
                )
            )


def index(s3, settings) -> dict:
    return json.loads(s3.get_object(Bucket=settings.s3_bucket, Key="models/derm/versions.json")["Body"].read())


async def test_promote_by_hand_overrides_the_gate(app, client, callers, dataset, s3, settings):
    await seed_versions(app, dataset["id"])
    response = await client.post("/api/models/derm/3/promote", headers=callers["admin"].headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "promoted" and response.json()["gate"]["override"]
    statuses = {
        v["version"]: v["status"]
        for v in (await client.get("/api/models", headers=callers["admin"].headers)).json()["items"]
    }
    assert statuses == {1: "archived", 2: "archived", 3: "promoted"}
    assert [v["labels"] for v in index(s3, settings)["versions"]] == [[], [], ["stable"]]
    again = await client.post("/api/models/derm/3/promote", headers=callers["admin"].headers)
    assert again.status_code == 409


async def test_rollback_restores_the_previous_promotion(app, client, callers, dataset, s3, settings):
    await seed_versions(app, dataset["id"])
    response = await client.post("/api/models/derm/2/rollback", headers=callers["admin"].headers)
    assert response.status_code == 200, response.text
    statuses = {v["version"]: v["status"] for v in response.json()["items"]}
    assert statuses == {1: "promoted", 2: "rejected", 3: "rejected"}
    assert index(s3, settings)["versions"][0] == {"version": 1, "status": "promoted", "labels": ["stable"]}
    not_promoted = await client.post("/api/models/derm/3/rollback", headers=callers["admin"].headers)
    assert not_promoted.status_code == 409
    assert (await client.post("/api/models/derm/9/promote", headers=callers["admin"].headers)).status_code == 404


async def test_concurrent_promotions_leave_the_index_in_step_with_the_registry(
    app, client, callers, dataset, s3, settings
):
    await seed_versions(app, dataset["id"])
    order = [1, 3, 2, 1, 3, 2, 1, 2]
    responses = await asyncio.gather(
        *(client.post(f"/api/models/derm/{number}/promote", headers=callers["admin"].headers) for number in order)
    )
    assert {response.status_code for response in responses} <= {200, 409}
    changes = sum(response.status_code == 200 for response in responses)
    statuses = {
        v["version"]: v["status"]
        for v in (await client.get("/api/models", headers=callers["admin"].headers)).json()["items"]
    }
    written = index(s3, settings)
    assert {v["version"]: v["status"] for v in written["versions"]} == statuses
    assert written["generation"] == changes  # one write per committed change, the last one last


async def test_one_promoted_version_per_model_is_enforced_by_the_database(app, dataset):
    await seed_versions(app, dataset["id"])
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError, match="one_promoted"):
        async with app.state.sessionmaker() as session, session.begin():
            session.add(
                ModelVersion(
                    model_name="derm",
                    version=4,
                    status=ModelStatus.promoted,
                    dataset_id=uuid.UUID(dataset["id"]),
                    artifact_url="",
                    metrics={},
                    gate={},
                    promoted_at=datetime.now(UTC),
                )
            )


async def test_dataset_without_a_test_split_cannot_train(client, callers, ingestion_service):
    _, ingestion = ingestion_service
    from support import images

    upload = await ingestion.post(
        "/api/images/upload",
        headers=callers["uploader"].headers,
        files={"image": ("x.png", images.png(seed=1), "image/png")},
    )
    await client.post(
        f"/api/images/{upload.json()['id']}/annotate", headers=callers["annotator"].headers, json={"label": "benign"}
    )
    frozen = (await client.post("/api/datasets", headers=callers["admin"].headers, json={"name": "one"})).json()
    response = await client.post(
        f"/api/datasets/{frozen['id']}/training-jobs", headers=callers["admin"].headers, json={}
    )
    assert response.status_code == 422 and response.json()["error"] == "unusable_dataset"
