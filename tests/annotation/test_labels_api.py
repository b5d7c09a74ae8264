"""Labels through the API: annotate, supersede, history, consensus, agreement, the blind queue."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text

from skinguard_annotation.tables import Annotation


async def test_annotate_records_the_authenticated_annotator(client, callers, ingest):
    image = await ingest(seed=1)
    response = await client.post(
        f"/api/images/{image['id']}/annotate",
        headers=callers["annotator"].headers,
        json={"label": "malignant", "confidence": 0.8, "metadata": {"dermoscopy": True}},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["label"] == "malignant" and body["confidence"] == 0.8 and body["current"] is True
    assert body["annotator_id"] == str(callers["annotator"].user_id)
    assert body["metadata"] == {"dermoscopy": True}


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"label": "maybe"}, "label"),
        ({"label": "benign", "confidence": 1.5}, "confidence"),
        ({"label": "benign", "confidence": -0.1}, "confidence"),
        ({}, "label"),
        ({"label": "benign", "annotator_id": str(uuid.uuid4())}, "annotator_id"),
    ],
    ids=["unknown-label", "confidence-high", "confidence-negative", "missing-label", "spoofed-annotator"],
)
async def test_bad_labels_are_422_with_the_field_named(client, callers, ingest, payload, fragment):
    image = await ingest(seed=2)
    response = await client.post(
        f"/api/images/{image['id']}/annotate", headers=callers["annotator"].headers, json=payload
    )
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


async def test_unknown_image_is_404(client, callers):
    response = await client.post(
        f"/api/images/{uuid.uuid4()}/annotate", headers=callers["annotator"].headers, json={"label": "benign"}
    )
    assert response.status_code == 404


async def test_new_label_supersedes_and_history_is_kept(client, callers, ingest, label):
    image = await ingest(seed=3)
    first = await label(image["id"], "benign", confidence=0.6)
    second = await label(image["id"], "malignant", confidence=0.9)
    history = (await client.get(f"/api/images/{image['id']}/annotations", headers=callers["annotator"].headers)).json()
    assert [a["id"] for a in history["annotations"]] == [second["id"], first["id"]]
    assert [a["current"] for a in history["annotations"]] == [True, False]
    assert history["annotations"][1]["superseded_at"] is not None


async def test_repeating_the_current_label_records_nothing(app, client, callers, ingest, label):
    image = await ingest(seed=4)
    await label(image["id"], "benign")
    again = await client.post(
        f"/api/images/{image['id']}/annotate", headers=callers["annotator"].headers, json={"label": "benign"}
    )
    assert again.status_code == 200
    async with app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Annotation)) == 1


async def test_annotators_see_only_their_own_labels_admins_see_all(client, callers, ingest, label):
    image = await ingest(seed=5)
    await label(image["id"], "benign", caller="annotator")
    await label(image["id"], "malignant", caller="annotator_2")
    own = (await client.get(f"/api/images/{image['id']}/annotations", headers=callers["annotator"].headers)).json()
    assert [a["label"] for a in own["annotations"]] == ["benign"] and own["consensus"] is None
    everything = (await client.get(f"/api/images/{image['id']}/annotations", headers=callers["admin"].headers)).json()
    assert sorted(a["label"] for a in everything["annotations"]) == ["benign", "malignant"]
    assert everything["consensus"]["disputed"] is True


async def consensus(client, callers, image_id):
    body = (await client.get(f"/api/images/{image_id}/annotations", headers=callers["admin"].headers)).json()
    return body["consensus"]


async def test_consensus_majority_ties_and_disputes(client, callers, ingest, label):
    unanimous, split_vote, weighted_tie, even_tie = [await ingest(seed=10 + i) for i in range(4)]
    for caller in ("annotator", "annotator_2", "annotator_3"):
        await label(unanimous["id"], "malignant", caller=caller)
    for caller, value in (("annotator", "benign"), ("annotator_2", "benign"), ("annotator_3", "malignant")):
        await label(split_vote["id"], value, caller=caller)
    await label(weighted_tie["id"], "benign", caller="annotator", confidence=0.9)
    await label(weighted_tie["id"], "malignant", caller="annotator_2", confidence=0.6)
    await label(even_tie["id"], "benign", caller="annotator")
    await label(even_tie["id"], "malignant", caller="annotator_2")

    result = await consensus(client, callers, unanimous["id"])
    assert (result["label"], result["votes"], result["agreement"], result["disputed"]) == (
        "malignant",
        {"benign": 0, "malignant": 3},
        1.0,
        False,
    )
    result = await consensus(client, callers, split_vote["id"])
    assert result["label"] == "benign" and result["disputed"] is True  # 1/3 disagree > 0.2
    assert result["agreement"] == pytest.approx(2 / 3)
    assert (await consensus(client, callers, weighted_tie["id"]))["label"] == "benign"
    assert (await consensus(client, callers, even_tie["id"]))["label"] == "malignant"  # the safer call

    listing = lambda **params: client.get("/api/consensus", headers=callers["admin"].headers, params=params)  # noqa: E731
    assert (await listing()).json()["total"] == 4
    assert {i["image_id"] for i in (await listing(disputed="false")).json()["items"]} == {unanimous["id"]}
    assert (await listing(label="malignant")).json()["total"] == 2
    assert (await listing(min_annotators=3)).json()["total"] == 2


async def test_agreement_endpoint_matches_hand_computed_kappas(client, callers, ingest, label):
    images = [await ingest(seed=20 + i) for i in range(4)]
    table = [
        ("benign", "benign", "benign"),
        ("benign", "benign", "malignant"),
        ("malignant", "malignant", "malignant"),
        ("benign", "malignant", "malignant"),
    ]
    raters = ("annotator", "annotator_2", "annotator_3")
    for image, row in zip(images, table, strict=True):
        for rater, value in zip(raters, row, strict=True):
            await label(image["id"], value, caller=rater)
    body = (await client.get("/api/annotations/agreement", headers=callers["admin"].headers)).json()
    assert (body["images"], body["annotators"], body["labels"]) == (4, 3, 12)
    assert body["fleiss_kappa"] == pytest.approx(1 / 3)
    pairs = {frozenset((p["annotator_a"], p["annotator_b"])): p for p in body["pairs"]}
    first_two = pairs[frozenset((str(callers["annotator"].user_id), str(callers["annotator_2"].user_id)))]
    assert first_two["images"] == 4 and first_two["cohen_kappa"] == pytest.approx(1 / 2)
    assert len(pairs) == 3


async def test_queue_is_blind_and_least_labelled_first(client, callers, ingest, label):
    fresh, once, twice = [await ingest(seed=30 + i) for i in range(3)]
    await label(once["id"], "malignant", caller="annotator_2")
    await label(twice["id"], "benign", caller="annotator_2")
    await label(twice["id"], "malignant", caller="annotator_3")
    response = await client.get("/api/annotation-queue", headers=callers["annotator"].headers)
    assert response.status_code == 200
    body = response.json()
    assert [item["image_id"] for item in body["items"]] == [fresh["id"], once["id"], twice["id"]]
    assert body["remaining"] == 3
    assert "benign" not in response.text and "malignant" not in response.text
    assert all(item["content_url"].startswith("http") for item in body["items"])

    await label(fresh["id"], "benign")
    after = (await client.get("/api/annotation-queue", headers=callers["annotator"].headers)).json()
    assert fresh["id"] not in [item["image_id"] for item in after["items"]] and after["remaining"] == 2


async def test_erasing_an_image_removes_its_labels(app, client, callers, ingest, label, ingestion_service):
    image = await ingest(seed=40)
    await label(image["id"], "benign")
    await label(image["id"], "malignant", caller="annotator_2")
    _, ingestion = ingestion_service
    erased = await ingestion.delete(f"/api/images/{image['id']}", headers=callers["uploader"].headers)
    assert erased.status_code == 204
    async with app.state.engine.connect() as connection:
        orphans = await connection.scalar(text("SELECT count(*) FROM image_annotations"))
    assert orphans == 0
    assert (
        await client.get(f"/api/images/{image['id']}/annotations", headers=callers["admin"].headers)
    ).status_code == 404


LABEL_ENDPOINTS = [
    ("POST", "/api/images/{id}/annotate", {"label": "benign"}),
    ("GET", "/api/images/{id}/annotations", None),
    ("GET", "/api/consensus", None),
    ("GET", "/api/annotations/agreement", None),
    ("GET", "/api/annotation-queue", None),
]


@pytest.mark.parametrize(("method", "path", "body"), LABEL_ENDPOINTS)
async def test_label_endpoints_need_a_key_and_the_right_role(client, callers, ingest, method, path, body):
    image = await ingest(seed=50)
    url = path.format(id=image["id"])
    assert (await client.request(method, url, json=body)).status_code == 401
    assert (await client.request(method, url, json=body, headers=callers["uploader"].headers)).status_code == 403
    if path in ("/api/consensus", "/api/annotations/agreement"):
        assert (await client.request(method, url, headers=callers["annotator"].headers)).status_code == 403
    assert (await client.request(method, url, json=body, headers=callers["admin"].headers)).status_code in (200, 201)


async def test_an_admins_adjudication_decides_a_dispute_and_keeps_history(client, callers, ingest, label):
    image = await ingest(seed=40)
    await label(image["id"], "benign", caller="annotator", confidence=0.9)
    await label(image["id"], "malignant", caller="annotator_2", confidence=0.5)
    assert (await consensus(client, callers, image["id"]))["disputed"] is True
    url = f"/api/images/{image['id']}/adjudication"
    admin = callers["admin"].headers

    first = await client.post(url, headers=admin, json={"label": "malignant", "note": "irregular border"})
    assert first.status_code == 201, first.text
    assert first.json()["adjudicator_id"] == str(callers["admin"].user_id)
    settled = await consensus(client, callers, image["id"])
    assert (settled["label"], settled["disputed"], settled["adjudicated"]) == ("malignant", False, True)
    assert settled["votes"] == {"benign": 1, "malignant": 1} and settled["agreement"] == 0.5
    disputes = (await client.get("/api/consensus", headers=admin, params={"disputed": "true"})).json()
    assert disputes["total"] == 0

    again = await client.post(url, headers=admin, json={"label": "malignant", "note": "irregular border"})
    assert again.status_code == 200
    second = await client.post(url, headers=admin, json={"label": "benign"})
    assert second.status_code == 201
    body = (await client.get(f"/api/images/{image['id']}/annotations", headers=admin)).json()
    assert [(d["label"], d["current"]) for d in body["adjudications"]] == [("benign", True), ("malignant", False)]
    assert body["consensus"]["label"] == "benign"
    # Annotators stay blind: no decisions, no consensus.
    own = (await client.get(f"/api/images/{image['id']}/annotations", headers=callers["annotator"].headers)).json()
    assert own["adjudications"] == [] and own["consensus"] is None


async def test_adjudication_refuses_non_admins_unlabelled_images_and_bad_bodies(client, callers, ingest, label):
    image = await ingest(seed=41)
    url = f"/api/images/{image['id']}/adjudication"
    refused = await client.post(url, headers=callers["annotator"].headers, json={"label": "benign"})
    assert refused.status_code == 403
    unlabelled = await client.post(url, headers=callers["admin"].headers, json={"label": "benign"})
    assert unlabelled.status_code == 409 and unlabelled.json()["error"] == "nothing_to_adjudicate"
    await label(image["id"], "benign")
    for body in ({"label": "maybe"}, {"label": "benign", "note": "x" * 2001}, {"label": "benign", "extra": 1}):
        answer = await client.post(url, headers=callers["admin"].headers, json=body)
        assert answer.status_code == 422, body
    unknown = await client.post(
        f"/api/images/{uuid.uuid4()}/adjudication", headers=callers["admin"].headers, json={"label": "benign"}
    )
    assert unknown.status_code == 404


async def test_whoami_names_the_keys_role(client, callers):
    me = await client.get("/api/me", headers=callers["annotator"].headers)
    assert me.status_code == 200
    assert me.json() == {"user_id": str(callers["annotator"].user_id), "name": "annotator", "role": "annotator"}
    assert (await client.get("/api/me", headers={"Authorization": "Bearer sg_wrong"})).status_code == 401
