"""Every route of every HTTP service, with the roles that may call it.

A route added without an entry here fails ``test_every_route_has_an_entry``; every entry is called
with no key and with each role: public routes never answer 401/403, protected ones answer 401
without a key, 403 to a role not listed and neither to one listed (admins may call everything).
"""

from __future__ import annotations

import uuid

import pytest

from skinguard_gateway.app import create_app as create_gateway
from support.apps import running
from support.model_server_double import InMemoryModelClient

pytestmark = pytest.mark.integration

PUBLIC = "public"
ADMIN: frozenset[str] = frozenset()
UPLOADERS = frozenset({"uploader", "importer"})
LABELLERS = frozenset({"annotator", "importer"})
SIGNED_IN = frozenset({"uploader", "annotator", "importer"})  # any valid key
OPERATIONS = {("GET", "/healthz"): PUBLIC, ("GET", "/readyz"): PUBLIC, ("GET", "/metrics"): PUBLIC}

ROUTES: dict[str, dict[tuple[str, str], frozenset[str] | str]] = {
    "ingestion": {
        **OPERATIONS,
        ("POST", "/api/images/upload"): UPLOADERS,
        ("GET", "/api/images"): UPLOADERS | {"annotator"},
        ("GET", "/api/images/{image_id}"): UPLOADERS | {"annotator"},
        ("GET", "/api/images/{image_id}/content"): UPLOADERS | {"annotator"},
        ("DELETE", "/api/images/{image_id}"): frozenset({"uploader"}),
        ("GET", "/api/me"): SIGNED_IN,
    },
    "annotation": {
        **OPERATIONS,
        ("POST", "/api/images/{image_id}/annotate"): LABELLERS,
        ("GET", "/api/images/{image_id}/annotations"): LABELLERS,
        ("GET", "/api/annotation-queue"): LABELLERS,
        ("POST", "/api/images/{image_id}/adjudication"): ADMIN,
        ("GET", "/api/me"): SIGNED_IN,
        ("GET", "/api/consensus"): ADMIN,
        ("GET", "/api/annotations/agreement"): ADMIN,
        ("POST", "/api/datasets"): ADMIN,
        ("GET", "/api/datasets"): ADMIN,
        ("GET", "/api/datasets/{dataset_id}"): ADMIN,
        ("GET", "/api/datasets/{dataset_id}/export"): ADMIN,
        ("POST", "/api/datasets/{dataset_id}/training-jobs"): ADMIN,
        ("GET", "/api/training-jobs"): ADMIN,
        ("GET", "/api/training-jobs/{job_id}"): ADMIN,
        ("POST", "/api/training-jobs/{job_id}/cancel"): ADMIN,
        ("GET", "/api/models"): ADMIN,
        ("POST", "/api/models/{model_name}/{version}/promote"): ADMIN,
        ("POST", "/api/models/{model_name}/{version}/rollback"): ADMIN,
        ("POST", "/api/models/{model_name}/{version}/evaluations"): ADMIN,
        ("GET", "/api/models/{model_name}/{version}/evaluations"): ADMIN,
        ("GET", "/api/models/{model_name}/{version}/evaluations/{evaluation_id}"): ADMIN,
        ("GET", "/api/models/{model_name}/{version}/card"): ADMIN,
        ("GET", "/api/models/{model_name}/{version}/plots"): ADMIN,
        ("GET", "/api/models/{model_name}/{version}/plots/{name}"): ADMIN,
    },
    "gateway": {
        **OPERATIONS,
        ("POST", "/predict"): PUBLIC,
        ("POST", "/predict_base64"): PUBLIC,
        ("POST", "/feedback"): PUBLIC,
        ("GET", "/health"): PUBLIC,
        ("GET", "/model"): PUBLIC,
        ("GET", "/models/current"): PUBLIC,
        ("GET", "/models/{model_name}/{version}/files/{file}"): PUBLIC,
        ("GET", "/monitoring/stats"): ADMIN,
        ("GET", "/monitoring/performance"): ADMIN,
    },
}
ROLES = ("uploader", "annotator", "importer", "admin")


@pytest.fixture
async def gateway_service(gateway_settings, clean_state):
    app = create_gateway(gateway_settings, model_client=InMemoryModelClient())
    async with running(app) as client:
        yield app, client


@pytest.fixture
def clients(ingestion_service, annotation_service, gateway_service):
    return {"ingestion": ingestion_service, "annotation": annotation_service, "gateway": gateway_service}


def declared_routes(app) -> set[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return {(method.upper(), path) for path, operations in paths.items() for method in operations} | {
        ("GET", "/metrics")
    }


@pytest.mark.parametrize("service", ROUTES)
def test_every_route_has_an_entry(service: str, clients) -> None:
    assert declared_routes(clients[service][0]) == set(ROUTES[service]), "add new routes to ROUTES with their roles"


def concrete(path: str) -> str:
    return (
        path.replace("{image_id}", str(uuid.uuid4()))
        .replace("{dataset_id}", str(uuid.uuid4()))
        .replace("{job_id}", str(uuid.uuid4()))
        .replace("{evaluation_id}", str(uuid.uuid4()))
        .replace("{model_name}", "skinguard")
        .replace("{version}", "1")
        .replace("{name}", "roc.png")
        .replace("{file}", "model.tflite")
    )


@pytest.mark.parametrize("service", ROUTES)
async def test_each_route_answers_each_role_as_listed(service: str, clients, callers) -> None:
    client = clients[service][1]
    for (method, path), allowed in ROUTES[service].items():
        url = concrete(path)
        anonymous = await client.request(method, url)
        if allowed == PUBLIC:
            assert anonymous.status_code not in (401, 403), (method, path)
            continue
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.json()["error"] == "unauthorized"
        for role in ROLES:
            answer = await client.request(method, url, headers=callers[role].headers)
            permitted = role == "admin" or role in allowed
            if permitted:
                assert answer.status_code not in (401, 403), (method, path, role, answer.text)
            else:
                assert answer.status_code == 403, (method, path, role, answer.text)
                assert answer.json()["error"] == "forbidden"
