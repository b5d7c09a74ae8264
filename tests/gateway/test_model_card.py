"""``GET /model``: the served version's model card, public part, as a mobile app shows it."""

from __future__ import annotations

import json

import pytest_asyncio

from skinguard_contracts.keys import model_card_key
from skinguard_runtime.storage import S3ObjectStore

from .conftest import serving_gateway

CARD = {
    "model": {"name": "skinguard", "version": 1, "architecture": "EfficientNetLite0", "code_version": "abc123"},
    "intended_use": "Decision support for triaging dermoscopic photos.",
    "not_a_diagnosis": "This is not a diagnosis.",
    "training_data": {
        "id": "5f0c-internal",
        "images": {"train": 10, "validation": 2, "test": 2},
        "sources": {"ham10000": {"benign": 8, "malignant": 6}},
    },
    "operating_point": {"decision_threshold": 0.08, "target_sensitivity": 0.95},
    "metrics": {
        "in_distribution": {"roc_auc": 0.93, "roc_auc_ci95": [0.91, 0.95]},
        "external": [{"dataset_id": "d-9", "evaluation_id": "e-1", "dataset_name": "clinic-x", "roc_auc": 0.81}],
    },
    "recipe": {"epochs": 10},
    "calibration": {"method": "temperature", "temperature": 1.3},
    "risk_levels": {"thresholds": {}, "test": {}},
    "slices": {},
    "limitations": ["Skin type is not recorded."],
    "gate": {"policy": {"min_auc": 0.75}},
}


@pytest_asyncio.fixture
async def card_store(gateway_settings):
    store = S3ObjectStore(gateway_settings)
    await store.ensure_bucket()
    yield store
    await store.delete(model_card_key("skinguard", 1))


async def test_the_public_card_of_the_served_version(gateway_settings, model_server, card_store, clean_gateway):
    await card_store.put(model_card_key("skinguard", 1), json.dumps(CARD).encode(), "application/json")
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        response = await client.get("/model")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["version"]) == ("skinguard", 1)
    card = body["card"]
    assert card["not_a_diagnosis"] == "This is not a diagnosis."
    assert card["metrics"]["in_distribution"]["roc_auc_ci95"] == [0.91, 0.95]
    assert card["metrics"]["external"] == [{"dataset_name": "clinic-x", "roc_auc": 0.81}]
    assert card["training_data"] == {
        "images": {"train": 10, "validation": 2, "test": 2},
        "sources": {"ham10000": {"benign": 8, "malignant": 6}},
    }
    assert "code_version" not in card["model"] and "gate" not in card  # internal details stay internal


async def test_an_unreadable_card_is_404_not_500(gateway_settings, model_server, card_store, clean_gateway):
    await card_store.put(model_card_key("skinguard", 1), b'{"model": "not a card"}', "application/json")
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        response = await client.get("/model")
    assert response.status_code == 404 and response.json()["error"] == "no_model_card"


async def test_no_card_is_404_and_no_model_503(gateway_settings, model_server, card_store, clean_gateway):
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        missing = await client.get("/model")
        assert missing.status_code == 404 and missing.json()["error"] == "no_model_card"
    model_server.unload(1)
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        unavailable = await client.get("/model")
        assert unavailable.status_code == 503 and unavailable.json()["error"]
