"""The prediction API: the original contract, validation, unusable photos, the cache across versions, the log."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from skinguard_gateway.feedback.tokens import token_matches
from skinguard_gateway.predictions import service
from skinguard_gateway.predictions.schemas import PredictionOut
from skinguard_gateway.predictions.tables import PredictionLog
from skinguard_imaging import prepare_image
from support import images
from support.model_server_double import InMemoryModelClient

from .conftest import serving_gateway

PHOTO = images.jpeg(320, 240, seed=1)


def fixed(benign: float, malignant: float):
    return lambda pixels: (benign, malignant)


async def predict(client, data: bytes = PHOTO, **headers):
    return await client.post("/predict", files={"file": ("photo.jpg", data, "image/jpeg")}, headers=headers)


async def logged(app) -> list[PredictionLog]:
    """The log's rows, once every answered prediction's row is written (they are written in batches)."""
    assert await app.state.prediction_log.flush(10)
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(PredictionLog).order_by(PredictionLog.created_at)))


async def test_predict_answers_the_original_contract(app, client, model_server) -> None:
    model_server.serve(1, fixed(0.15, 0.85))
    response = await predict(client)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "predicted_class", "confidence", "probabilities", "risk_level", "image_quality",
        "model", "cached", "request_id", "prediction_id", "feedback_token", "notice",
    }  # fmt: skip
    assert body["predicted_class"] == "Malignant" and body["risk_level"] == "high"
    assert body["confidence"] == pytest.approx(0.85)
    assert body["probabilities"] == {"benign": pytest.approx(0.15), "malignant": pytest.approx(0.85)}
    quality = body["image_quality"]
    assert quality["resolution"] == [320, 240] and quality["file_size"] > 0
    assert quality["blur_score"] > 0 and 0 < quality["brightness_score"] < 255 and quality["contrast_score"] > 0
    assert body["model"] == {"name": "skinguard", "version": 1}
    assert body["cached"] is False
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["prediction_id"] != body["request_id"] and len(body["feedback_token"]) == 43
    assert "not a diagnosis" in body["notice"] and "doctor" in body["notice"]


async def test_predict_base64_takes_plain_and_data_url_base64(client) -> None:
    encoded = base64.b64encode(PHOTO).decode()
    plain = await client.post("/predict_base64", json={"image": encoded})
    assert plain.status_code == 200, plain.text
    wrapped = "data:image/jpeg;base64," + "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    data_url = await client.post("/predict_base64", json={"image": wrapped})
    assert data_url.status_code == 200
    assert data_url.json()["probabilities"] == plain.json()["probabilities"]


async def test_the_second_identical_request_is_a_cache_hit(client, model_server) -> None:
    first, second = (await predict(client)).json(), (await predict(client)).json()
    assert (first["cached"], second["cached"]) == (False, True)
    assert second["probabilities"] == first["probabilities"] and second["model"] == first["model"]
    assert second["request_id"] != first["request_id"]
    assert len(model_server.inputs) == 1  # the model ran once


@pytest.fixture
def validations(monkeypatch) -> list[bytes]:
    """The uploads that were decoded and validated (``prepare_image``), in order."""
    seen: list[bytes] = []

    def counting(data: bytes, limits):
        seen.append(data)
        return prepare_image(data, limits)

    monkeypatch.setattr(service, "prepare_image", counting)
    return seen


async def test_a_repeated_upload_is_answered_before_decoding(app, client, model_server, validations) -> None:
    first, second, third = [await predict(client) for _ in range(3)]
    assert validations == [PHOTO]  # validated once, when it was answered
    assert len(model_server.inputs) == 1
    bodies = [response.json() for response in (first, second, third)]
    assert [body["cached"] for body in bodies] == [False, True, True]
    for response, body in zip((first, second, third), bodies, strict=True):
        assert response.headers["content-type"] == "application/json"
        PredictionOut.model_validate(body)  # the documented contract, field for field
        assert body["request_id"] == response.headers["x-request-id"]
        assert body["model"] == {"name": "skinguard", "version": 1}
        assert token_matches(
            app.state.settings.feedback_key.get_secret_value(), body["prediction_id"], body["feedback_token"]
        )
    assert len({body["prediction_id"] for body in bodies}) == 3  # a fresh id and token per answer
    assert len({body["feedback_token"] for body in bodies}) == 3
    for field in ("probabilities", "image_quality", "predicted_class", "risk_level", "confidence"):
        assert bodies[1][field] == bodies[2][field] == bodies[0][field], field
    assert [(row.prediction_id, row.cached) for row in await logged(app)] == [
        (body["prediction_id"], body["cached"]) for body in bodies
    ]


async def test_the_same_pixels_with_other_metadata_are_a_hit_after_validation(
    client, model_server, validations
) -> None:
    with_exif = images.jpeg(320, 240, seed=1, exif=images.exif_with_gps_and_serial())
    assert with_exif != PHOTO
    plain, tagged, again = [(await predict(client, data)).json() for data in (PHOTO, with_exif, with_exif)]
    assert [answer["cached"] for answer in (plain, tagged, again)] == [False, True, True]
    assert validations == [PHOTO, with_exif]  # the tagged upload was validated once, then hit before decoding
    assert len(model_server.inputs) == 1
    assert tagged["probabilities"] == plain["probabilities"]


async def test_a_new_version_never_answers_with_an_old_versions_cached_result(app, client, model_server) -> None:
    model_server.serve(1, fixed(0.9, 0.1))
    assert (await predict(client)).json()["model"]["version"] == 1
    assert (await predict(client)).json()["cached"] is True

    model_server.serve(2, fixed(0.2, 0.8))  # promoted: the label moves
    await app.state.tracker.refresh()  # the periodic look at the label
    moved = (await predict(client)).json()
    assert (moved["model"]["version"], moved["cached"], moved["predicted_class"]) == (2, False, "Malignant")

    # Version 3 is promoted and version 2 unloaded before the next periodic look: a request that
    # needs the model finds its version gone, follows the label and is answered by version 3.
    model_server.serve(3, fixed(0.6, 0.4))
    model_server.unload(2)
    other = await predict(client, images.jpeg(320, 240, seed=3))
    assert other.status_code == 200, other.text
    assert (other.json()["model"]["version"], other.json()["cached"]) == (3, False)
    again = (await predict(client)).json()
    assert (again["model"]["version"], again["cached"], again["predicted_class"]) == (3, False, "Benign")
    assert [version for version, _ in model_server.inputs] == [1, 2, 3, 3]


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 422, "empty_file"),
        (b"GIF89a" + bytes(100), 415, "unsupported_format"),
        (PHOTO[: len(PHOTO) // 2], 422, "corrupt_image"),
        (images.jpeg(200, 300, seed=2), 422, "too_small"),
        (b"\xff\xd8\xff" + bytes(10 * 1024 * 1024), 413, "file_too_large"),
    ],
    ids=["empty", "gif", "truncated", "too-small", "too-large"],
)
async def test_invalid_uploads_are_refused_with_their_reason(app, client, model_server, data, status, code) -> None:
    response = await predict(client, data)
    assert (response.status_code, response.json()["error"]) == (status, code)
    assert response.json()["detail"]
    assert model_server.inputs == [] and await logged(app) == []
    metrics = (await client.get("/metrics")).text
    assert f'skinguard_gateway_rejections_total{{reason="{code}"}} 1.0' in metrics


async def test_malformed_requests_are_refused(client) -> None:
    no_file = await client.post("/predict", data={"other": "x"})
    assert (no_file.status_code, no_file.json()["error"]) == (422, "invalid")
    not_base64 = await client.post("/predict_base64", json={"image": "not base64 at all!"})
    assert (not_base64.status_code, not_base64.json()["error"]) == (422, "invalid_base64")
    oversized = await client.post("/predict_base64", content=b"x" * (15 * 1024 * 1024))
    assert (oversized.status_code, oversized.json()["error"]) == (413, "payload_too_large")


def photo_of(pixels: np.ndarray) -> bytes:
    return images.encode(Image.fromarray(pixels.astype(np.uint8)), "PNG")


SMOOTH = np.broadcast_to(np.linspace(30, 230, 256)[None, :, None], (256, 256, 3))  # no texture at all
NOISE = np.random.default_rng(0).normal(0, 6, size=(256, 256, 3))


@pytest.mark.parametrize(
    ("pixels", "code"),
    [(SMOOTH, "image_too_blurry"), (10 + NOISE, "image_too_dark"), (np.clip(248 + NOISE, 0, 255), "image_overexposed")],
    ids=["blurry", "dark", "overexposed"],
)
async def test_unusable_photos_are_refused_with_advice(client, gateway_settings, model_server, pixels, code) -> None:
    response = await predict(client, photo_of(pixels))
    assert (response.status_code, response.json()["error"]) == (422, code)
    assert "retake the photo" in response.json()["detail"]
    assert model_server.inputs == []


async def test_usability_checks_can_be_turned_off(gateway_settings, model_server, clean_gateway) -> None:
    off = {"min_blur_score": 0, "min_brightness": 0, "max_brightness": 0}
    async with serving_gateway(gateway_settings, model_server, **off) as (_, client):
        assert (await predict(client, photo_of(10 + NOISE))).status_code == 200


async def test_a_gateway_with_other_rules_does_not_take_a_cached_upload_as_valid(
    gateway_settings, model_server, clean_gateway
) -> None:
    dark = photo_of(10 + NOISE)
    lenient = {"min_blur_score": 0, "min_brightness": 0, "max_brightness": 0}
    async with serving_gateway(gateway_settings, model_server, **lenient) as (_, client):
        assert (await predict(client, dark)).status_code == 200
        assert (await predict(client, dark)).json()["cached"] is True
    async with serving_gateway(gateway_settings, model_server) as (_, client):  # the same Redis
        refused = await predict(client, dark)
        assert (refused.status_code, refused.json()["error"]) == (422, "image_too_dark")


async def test_every_answer_is_logged_without_the_image(app, client, model_server) -> None:
    model_server.serve(1, fixed(0.8, 0.2))
    first = (await predict(client)).json()
    second = (await predict(client, **{"X-Request-ID": "retry-1"})).json()
    rows = await logged(app)
    assert [row.prediction_id for row in rows] == [first["prediction_id"], second["prediction_id"]]
    row = rows[0]
    expected = ("skinguard", 1, "benign", "low-medium")
    assert (row.model_name, row.model_version, row.predicted_class, row.risk_level) == expected
    assert (row.confidence, row.probability_benign, row.probability_malignant) == pytest.approx((0.8, 0.8, 0.2))
    assert (row.cached, rows[1].cached, row.latency_ms > 0) == (False, True, True)
    assert second["cached"] is True
    assert set(PredictionLog.__table__.columns.keys()) == {
        "prediction_id", "model_name", "model_version", "predicted_class", "confidence", "probability_benign",
        "probability_malignant", "risk_level", "cached", "latency_ms", "created_at",
    }  # fmt: skip


async def test_health_readiness_and_metrics(client) -> None:
    await predict(client)
    await predict(client)
    health = (await client.get("/health")).json()
    assert (health["status"], health["model_loaded"], health["model_version"]) == ("healthy", True, 1)
    assert health["timestamp"]
    ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "serving": "ok"}
    metrics = (await client.get("/metrics")).text
    for line in (
        'skinguard_gateway_predictions_total{model_version="1",predicted_class="benign"} 2.0',
        'skinguard_gateway_cache_lookups_total{result="hit"} 1.0',
        'skinguard_gateway_cache_lookups_total{result="miss"} 1.0',
        'skinguard_gateway_model_version{model="skinguard"} 1.0',
        'skinguard_gateway_serving_duration_seconds_count{method="Predict"} 1.0',
        'skinguard_gateway_prediction_duration_seconds_count{cached="true"} 1.0',
        'http_request_duration_seconds_count{method="POST",route="/predict",service="gateway"} 2.0',
    ):
        assert line in metrics, line


async def test_without_a_model_the_gateway_answers_503_and_says_so(gateway_settings, clean_gateway) -> None:
    async with serving_gateway(gateway_settings, InMemoryModelClient()) as (_, client):
        health = (await client.get("/health")).json()
        assert (health["status"], health["model_loaded"], health["model_version"]) == ("degraded", False, None)
        response = await predict(client)
        assert (response.status_code, response.json()["error"]) == (503, "model_unavailable")
        assert response.headers["retry-after"]
        assert (await client.get("/readyz")).json()["checks"]["serving"] != "ok"
