"""Feedback on predictions, and the admin-only monitoring figures computed from the log and the feedback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from skinguard_gateway.feedback.tokens import feedback_token
from skinguard_gateway.predictions.tables import PredictionLog

from .test_predict_api import predict


@pytest.fixture
def key(gateway_settings) -> str:
    """The key the gateway signs feedback tokens with."""
    return gateway_settings.feedback_key.get_secret_value()


def proof(answer: dict) -> dict:
    return {"prediction_id": answer["prediction_id"], "feedback_token": answer["feedback_token"]}


async def test_feedback_is_recorded_once_per_prediction(client, key) -> None:
    answer = (await predict(client)).json()
    created = await client.post(
        "/feedback", json={**proof(answer), "actual_label": "Malignant", "comment": "biopsy: melanoma"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["prediction_id"], body["actual_label"], body["comment"]) == (
        answer["prediction_id"],
        "malignant",
        "biopsy: melanoma",
    )
    assert body["created_at"]

    again = await client.post("/feedback", json={**proof(answer), "actual_label": "benign"})
    assert (again.status_code, again.json()["error"]) == (409, "conflict")
    unknown = {"prediction_id": "no-such-prediction", "feedback_token": feedback_token(key, "no-such-prediction")}
    missing = await client.post("/feedback", json={**unknown, "actual_label": "benign"})
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")


async def test_forged_feedback_on_someone_elses_prediction_is_refused(client) -> None:
    """The attack: a prediction's id is seen (a log, a shared screenshot) or guessed, and false
    diagnoses are attached to it to move the monitoring figures."""
    answer = (await predict(client, **{"X-Request-ID": "chosen-by-the-client"})).json()
    assert answer["prediction_id"] != "chosen-by-the-client"  # the client no longer picks the key
    for token in ("", "x" * 43, feedback_token("another-key", answer["prediction_id"])):
        forged = await client.post(
            "/feedback",
            json={"prediction_id": answer["prediction_id"], "feedback_token": token, "actual_label": "benign"},
        )
        assert forged.status_code in (403, 422), token
    by_request_id = await client.post(
        "/feedback", json={"request_id": "chosen-by-the-client", "actual_label": "benign"}
    )
    assert by_request_id.status_code == 422
    genuine = await client.post("/feedback", json={**proof(answer), "actual_label": "benign"})
    assert genuine.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"prediction_id": "r", "feedback_token": "t", "actual_label": "unsure"},
        {"prediction_id": "r", "feedback_token": "t", "actual_label": "benign", "comment": "x" * 1001},
        {"prediction_id": "", "feedback_token": "t", "actual_label": "benign"},
        {"feedback_token": "t", "actual_label": "benign"},
        {"prediction_id": "r", "actual_label": "benign"},
    ],
    ids=["label", "comment-too-long", "empty-id", "no-id", "no-token"],
)
async def test_invalid_feedback_is_refused(client, body) -> None:
    response = await client.post("/feedback", json=body)
    assert (response.status_code, response.json()["error"]) == (422, "invalid")


async def log_predictions(app, rows: list[tuple], prefix: str = "r") -> list[str]:
    """Rows of (version, predicted class, confidence, hours ago); returns their request ids."""
    now = datetime.now(UTC)
    values = [
        {
            "prediction_id": f"{prefix}{index}",
            "model_name": "skinguard",
            "model_version": version,
            "predicted_class": predicted,
            "confidence": confidence,
            "probability_benign": confidence if predicted == "benign" else 1 - confidence,
            "probability_malignant": confidence if predicted == "malignant" else 1 - confidence,
            "risk_level": "medium",
            "cached": False,
            "latency_ms": 12.5,
            "created_at": now - timedelta(hours=hours_ago),
        }
        for index, (version, predicted, confidence, hours_ago) in enumerate(rows)
    ]
    async with app.state.sessionmaker.begin() as session:
        await session.execute(insert(PredictionLog), values)
    return [value["prediction_id"] for value in values]


async def test_performance_from_feedback_by_model_version(app, client, callers, key) -> None:
    # (version, predicted, actual): v1 has tp 2, fp 1, fn 1, tn 2; v2 has tp 1, fn 1, tn 1.
    cases = [
        (1, "malignant", "malignant"), (1, "malignant", "malignant"), (1, "malignant", "benign"),
        (1, "benign", "malignant"), (1, "benign", "benign"), (1, "benign", "benign"),
        (2, "malignant", "malignant"), (2, "benign", "malignant"), (2, "benign", "benign"),
    ]  # fmt: skip
    ids = await log_predictions(app, [(version, predicted, 0.8, 1) for version, predicted, _ in cases])
    await log_predictions(app, [(1, "malignant", 0.9, 1)], prefix="no-feedback-")  # does not count
    for prediction_id, (_, _, actual) in zip(ids, cases, strict=True):
        token = feedback_token(key, prediction_id)
        response = await client.post(
            "/feedback", json={"prediction_id": prediction_id, "feedback_token": token, "actual_label": actual}
        )
        assert response.status_code == 201

    response = await client.get("/monitoring/performance", headers=callers["admin"].headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["positive_class"] == "malignant"
    overall = body["overall"]  # tp 3, fp 1, fn 2, tn 3
    assert overall["feedback_count"] == 9
    assert overall["accuracy"] == pytest.approx(6 / 9)
    assert overall["precision"] == pytest.approx(3 / 4)
    assert overall["recall"] == pytest.approx(3 / 5)
    assert overall["confusion_matrix"] == {
        "benign": {"benign": 3, "malignant": 1},
        "malignant": {"benign": 2, "malignant": 3},
    }
    v1, v2 = body["by_model_version"]
    assert (v1["model_version"], v1["accuracy"], v1["precision"], v1["recall"]) == (
        1, pytest.approx(4 / 6), pytest.approx(2 / 3), pytest.approx(2 / 3)
    )  # fmt: skip
    assert (v2["model_version"], v2["accuracy"], v2["precision"], v2["recall"]) == (
        2, pytest.approx(2 / 3), pytest.approx(1.0), pytest.approx(1 / 2)
    )  # fmt: skip


async def test_stats_over_a_window_by_model_version(app, client, callers) -> None:
    await log_predictions(
        app,
        [
            (1, "benign", 0.55, 1),
            (1, "malignant", 0.95, 2),
            (2, "malignant", 1.0, 3),
            (1, "benign", 0.65, 30),  # outside a 24-hour window
        ],
    )
    day = (await client.get("/monitoring/stats", headers=callers["admin"].headers)).json()
    assert day["window_hours"] == 24
    overall = day["overall"]
    assert overall["count"] == 3
    assert overall["average_confidence"] == pytest.approx((0.55 + 0.95 + 1.0) / 3)
    assert overall["malignant_rate"] == pytest.approx(2 / 3)
    counts = {(round(b["lower"], 1), round(b["upper"], 1)): b["count"] for b in overall["confidence_histogram"]}
    assert counts[0.5, 0.6] == 1 and counts[0.9, 1.0] == 2 and sum(counts.values()) == 3
    assert [(v["model_version"], v["count"]) for v in day["by_model_version"]] == [(1, 2), (2, 1)]
    assert day["by_model_version"][1]["malignant_rate"] == 1.0
    # Per UTC day and version (the window may span midnight): the same counts, summed.
    per_version: dict[int, int] = {}
    for entry in day["per_day"]:
        per_version[entry["model_version"]] = per_version.get(entry["model_version"], 0) + entry["count"]
    assert per_version == {1: 2, 2: 1}
    assert [entry["day"] for entry in day["per_day"]] == sorted(entry["day"] for entry in day["per_day"])

    two_days = await client.get("/monitoring/stats", params={"window_hours": 48}, headers=callers["admin"].headers)
    assert two_days.json()["overall"]["count"] == 4
    bad = await client.get("/monitoring/stats", params={"window_hours": 0}, headers=callers["admin"].headers)
    assert bad.status_code == 422


@pytest.mark.parametrize("path", ["/monitoring/stats", "/monitoring/performance"])
async def test_monitoring_is_for_admins_only(client, callers, path) -> None:
    assert (await client.get(path)).status_code == 401
    for role in ("uploader", "annotator", "importer"):
        assert (await client.get(path, headers=callers[role].headers)).status_code == 403
    assert (await client.get(path, headers=callers["admin"].headers)).status_code == 200
