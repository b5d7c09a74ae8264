"""A version's metadata.json in S3 decides its risk levels; without one the original rules apply."""

from __future__ import annotations

import json

import pytest_asyncio

from skinguard_contracts.keys import model_metadata_key
from skinguard_runtime.storage import S3ObjectStore

from .conftest import serving_gateway
from .test_predict_api import fixed, predict

CALIBRATED = {
    "model_name": "skinguard",
    "class_names": ["benign", "malignant"],
    "decision_threshold": 0.35,
    "risk_thresholds": {
        "benign_low": 0.97,
        "benign_low_medium": 0.9,
        "malignant_high": 0.7,
        "malignant_medium_high": 0.38,
    },
}


@pytest_asyncio.fixture
async def store(gateway_settings):
    store = S3ObjectStore(gateway_settings)
    await store.ensure_bucket()
    written: list[str] = []

    async def put(version: int, metadata: dict) -> None:
        key = model_metadata_key("skinguard", version)
        await store.put(key, json.dumps(metadata).encode(), "application/json")
        written.append(key)

    yield put
    for key in written:
        await store.delete(key)


async def test_calibrated_thresholds_of_the_served_version_apply(gateway_settings, model_server, store, clean_gateway):
    await store(2, CALIBRATED)
    model_server.serve(1, fixed(0.6, 0.4))
    async with serving_gateway(gateway_settings, model_server) as (app, client):
        original = (await predict(client)).json()
        assert (original["predicted_class"], original["risk_level"]) == ("Benign", "medium")

        model_server.serve(2, fixed(0.6, 0.4))
        await app.state.tracker.refresh()
        calibrated = (await predict(client)).json()
        assert calibrated["model"]["version"] == 2
        # 0.4 >= the decision threshold 0.35, and above malignant_medium_high 0.38.
        assert (calibrated["predicted_class"], calibrated["risk_level"]) == ("Malignant", "medium-high")
        assert calibrated["confidence"] == 0.4


async def test_an_invalid_metadata_file_leaves_the_original_rules(gateway_settings, model_server, store, clean_gateway):
    await store(1, {**CALIBRATED, "risk_thresholds": {"benign_low": 0.5}})
    model_server.serve(1, fixed(0.6, 0.4))
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        answer = (await predict(client)).json()
        assert (answer["predicted_class"], answer["risk_level"]) == ("Benign", "medium")
