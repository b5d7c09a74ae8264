"""Attacks on the image visibility rule: one rule (``visible_images``) every route asks."""

from __future__ import annotations

import pytest

from support import images

pytestmark = pytest.mark.integration


@pytest.fixture
async def clinic_photo(ingestion_service, callers) -> dict:
    """A photo another clinic's uploader stored, with free-text notes and a patient id."""
    _, ingestion = ingestion_service
    response = await ingestion.post(
        "/api/images/upload",
        headers=callers["uploader"].headers,
        files={"image": ("x.png", images.png(seed=301), "image/png")},
        data={"notes": "patient anxious, family history", "patient_id": "MRN-0042"},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_an_importer_does_not_see_other_uploaders_images_in_its_queue(annotation_service, callers, clinic_photo):
    _, annotation = annotation_service
    queue = (await annotation.get("/api/annotation-queue", headers=callers["importer"].headers)).json()
    assert clinic_photo["id"] not in [item["image_id"] for item in queue["items"]]
    assert "patient anxious" not in str(queue)
    # Annotators still get it to label.
    for_annotator = (await annotation.get("/api/annotation-queue", headers=callers["annotator"].headers)).json()
    assert clinic_photo["id"] in [item["image_id"] for item in for_annotator["items"]]


async def test_an_importer_cannot_label_or_read_the_labels_of_other_uploaders_images(
    annotation_service, callers, clinic_photo
):
    _, annotation = annotation_service
    path = f"/api/images/{clinic_photo['id']}"
    labelled = await annotation.post(f"{path}/annotate", headers=callers["importer"].headers, json={"label": "benign"})
    assert labelled.status_code == 404 and labelled.json()["error"] == "not_found"
    history = await annotation.get(f"{path}/annotations", headers=callers["importer"].headers)
    assert history.status_code == 404
    own = await annotation.post(f"{path}/annotate", headers=callers["annotator"].headers, json={"label": "benign"})
    assert own.status_code == 201


async def test_patient_search_is_no_pseudonym_oracle_for_annotators(ingestion_service, callers, clinic_photo):
    _, ingestion = ingestion_service
    for role in ("annotator", "uploader", "importer"):
        guessed = await ingestion.get("/api/images", headers=callers[role].headers, params={"patient_id": "MRN-0042"})
        assert guessed.status_code == 403 and guessed.json()["error"] == "patient_search_forbidden", role
    found = await ingestion.get("/api/images", headers=callers["admin"].headers, params={"patient_id": "MRN-0042"})
    assert [image["id"] for image in found.json()["items"]] == [clinic_photo["id"]]
