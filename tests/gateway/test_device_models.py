"""``GET /models/current`` and ``GET /models/{name}/{version}/files/{file}``: the served version
for apps that classify on the device, and its files, checked against the published SHA-256."""

from __future__ import annotations

import hashlib
import json

import pytest
import pytest_asyncio

from skinguard_contracts.keys import model_card_key, model_metadata_key, model_prefix
from skinguard_contracts.model_files import DEVICE_FILES, DeviceModel, ModelMetadata
from skinguard_devstack.processes import free_port
from skinguard_gateway.devices.router import matches
from skinguard_gateway.devices.service import DeviceModels, FileCache
from skinguard_gateway.serving.client import ServedModel
from skinguard_gateway.serving.public_card import PublicCards
from skinguard_gateway.serving.version_metadata import VersionMetadataCache
from skinguard_runtime.storage import ObjectStore, S3ObjectStore, StorageUnavailable

from .conftest import MODEL_INPUT_SIZE, serving_gateway
from .test_model_card import CARD

# Versions no other gateway test publishes.
SERVED, NEXT = 41, 42
INT8 = bytes(range(256)) * 40 + b"int8"
ONNX = bytes(reversed(range(256))) * 60 + b"onnx"


def device(format: str, data: bytes, **figures) -> dict:
    file, runtime = DEVICE_FILES[format]
    entry = DeviceModel(
        format=format,  # type: ignore[arg-type]
        file=file,
        runtime=runtime,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        input_dtype="uint8",
        **figures,
    )
    return entry.model_dump()


def metadata(*devices: dict) -> dict:
    return {
        "model_name": "skinguard",
        "class_names": ["benign", "malignant"],
        "input_size": MODEL_INPUT_SIZE,
        "preprocessing": "to_model_input(image_bytes, 32): decode, orient, RGB, resize; uint8 0-255.",
        "decision_threshold": 0.35,
        "operating_point": {"threshold": 0.35, "sensitivity": 0.96, "specificity": 0.61, "target_sensitivity": 0.95},
        "risk_thresholds": {
            "benign_low": 0.97,
            "benign_low_medium": 0.9,
            "malignant_high": 0.7,
            "malignant_medium_high": 0.38,
        },
        "devices": list(devices),
    }


FIGURES = {"test_auc": 0.91, "test_sensitivity": 0.95, "test_specificity": 0.6}
LISTED = metadata(
    device("tflite_int8", INT8, **FIGURES, auc_drop=0.004),
    device("onnx", ONNX, **FIGURES, auc_drop=0.02),
)


@pytest_asyncio.fixture
async def store(gateway_settings):
    store = S3ObjectStore(gateway_settings)
    await store.ensure_bucket()
    yield store
    for version in (SERVED, NEXT):
        for key, _ in await store.listing(model_prefix("skinguard", version)):
            await store.delete(key)


@pytest.fixture
def publish(store):
    """Write a version as the worker does: metadata.json, the files, and (unless told) its card."""

    async def publish(version: int, meta: dict | None, files: dict[str, bytes], *, card: bool = True) -> None:
        if meta is not None:
            ModelMetadata.model_validate(meta)  # what the worker writes is valid
            await store.put(model_metadata_key("skinguard", version), json.dumps(meta).encode(), "application/json")
        if card:
            written = {**CARD, "model": {**CARD["model"], "version": version}}
            await store.put(model_card_key("skinguard", version), json.dumps(written).encode(), "application/json")
        for name, data in files.items():
            await store.put(model_prefix("skinguard", version) + name, data, "application/octet-stream")

    return publish


def url(version: int, file: str) -> str:
    return f"/models/skinguard/{version}/files/{file}"


async def test_current_describes_the_served_version_for_devices(
    gateway_settings, model_server, publish, clean_gateway
) -> None:
    await publish(SERVED, LISTED, {"model_int8.tflite": INT8, "model.onnx": ONNX})
    model_server.serve(SERVED)
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        response = await client.get("/models/current")
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["model_name"], body["version"], body["input_size"]) == ("skinguard", SERVED, MODEL_INPUT_SIZE)
        assert body["class_names"] == ["benign", "malignant"]
        assert body["decision_threshold"] == 0.35
        assert body["operating_point"] == LISTED["operating_point"]
        assert body["risk_thresholds"] == LISTED["risk_thresholds"]
        assert body["preprocessing"]["description"] == LISTED["preprocessing"]
        assert body["preprocessing"]["input_shape"] == [1, MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, 3]
        assert body["notice"].startswith("This is not a diagnosis")

        card = body["card"]
        assert (card["intended_use"], card["not_a_diagnosis"]) == (CARD["intended_use"], CARD["not_a_diagnosis"])
        assert card["in_distribution"]["roc_auc"] == 0.93
        assert card["in_distribution"]["roc_auc_ci95"] == [0.91, 0.95]
        assert [item["dataset_name"] for item in card["external"]] == ["clinic-x"]
        assert "dataset_id" not in card["external"][0]  # internal identifiers stay internal
        assert card["limitations"] == CARD["limitations"]

        int8, onnx = body["formats"]
        assert int8 == {
            "format": "tflite_int8",
            "url": url(SERVED, "model_int8.tflite"),
            "file": "model_int8.tflite",
            "bytes": len(INT8),
            "sha256": hashlib.sha256(INT8).hexdigest(),
            "runtime": DEVICE_FILES["tflite_int8"][1],
            "input_dtype": "uint8",
            **FIGURES,
            "auc_drop": 0.004,
            "within_tolerance": True,
        }
        assert (onnx["format"], onnx["url"], onnx["within_tolerance"]) == ("onnx", url(SERVED, "model.onnx"), False)

        etag = response.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["content-type"] == "application/json"

        again = await client.get("/models/current")
        assert again.headers["etag"] == etag and again.content == response.content  # stable
        for tag in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            unchanged = await client.get("/models/current", headers={"If-None-Match": tag})
            assert unchanged.status_code == 304, tag
            assert unchanged.content == b""
            assert (unchanged.headers["etag"], unchanged.headers["cache-control"]) == (etag, "no-cache")
        assert (await client.get("/models/current", headers={"If-None-Match": '"other"'})).status_code == 200


async def test_a_device_file_downloads_checked_and_cached_for_good(
    gateway_settings, model_server, publish, store, clean_gateway
) -> None:
    await publish(SERVED, LISTED, {"model_int8.tflite": INT8, "model.onnx": ONNX})
    model_server.serve(SERVED)
    sha256 = hashlib.sha256(INT8).hexdigest()
    async with serving_gateway(gateway_settings, model_server) as (app, client):
        response = await client.get(url(SERVED, "model_int8.tflite"))
        assert response.status_code == 200, response.text
        assert response.content == INT8
        assert response.headers["etag"] == f'"{sha256}"'
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["content-length"] == str(len(INT8))
        assert app.state.device_models.files.size == len(INT8)

        onnx = await client.get(url(SERVED, "model.onnx"))
        assert onnx.status_code == 200 and onnx.content == ONNX

        # Gone from S3: the in-memory copy still answers, and a revalidation needs no read.
        await store.delete(model_prefix("skinguard", SERVED) + "model_int8.tflite")
        assert (await client.get(url(SERVED, "model_int8.tflite"))).content == INT8
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        unchanged = await client.get(url(SERVED, "model_int8.tflite"), headers={"If-None-Match": f'"{sha256}"'})
        assert unchanged.status_code == 304 and unchanged.content == b""
        assert unchanged.headers["etag"] == f'"{sha256}"'
        assert unchanged.headers["cache-control"] == "public, max-age=31536000, immutable"
        # Without the condition, the file (deleted above) must be read: refused, not a 500.
        missing = await client.get(url(SERVED, "model_int8.tflite"))
        assert (missing.status_code, missing.json()["error"]) == (503, "device_file_missing")


async def test_other_versions_and_unlisted_files_are_404(
    gateway_settings, model_server, publish, clean_gateway
) -> None:
    only_int8 = metadata(device("tflite_int8", INT8))
    await publish(SERVED, only_int8, {"model_int8.tflite": INT8, "model.tflite": b"dynamic", "model.onnx": ONNX})
    await publish(NEXT, LISTED, {"model_int8.tflite": INT8, "model.onnx": ONNX})
    model_server.serve(SERVED)
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        for path in (
            url(NEXT, "model_int8.tflite"),  # published, not served
            url(NEXT, "model.onnx"),
            url(1, "model_int8.tflite"),
            url(SERVED, "model.onnx"),  # in S3, but not in the served version's metadata
            url(SERVED, "model.tflite"),
            url(SERVED, "other.tflite"),
            f"/models/another/{SERVED}/files/model_int8.tflite",
        ):
            response = await client.get(path)
            assert response.status_code == 404, (path, response.text)
            assert set(response.json()) == {"error", "detail"}
            assert response.json()["error"] == "device_file_not_found"
            assert response.headers["cache-control"] == "no-store"
            assert "etag" not in response.headers
        for path in (
            url(SERVED, "metadata.json"),
            url(SERVED, "..%2Fmetadata.json"),
            url(SERVED, ".model.tflite"),
            url(SERVED, "model int8.tflite"),
            url(0, "model_int8.tflite"),
            f"/models/skinguard/{2**31}/files/model_int8.tflite",
            f"/models/{'x' * 65}/{SERVED}/files/model_int8.tflite",
        ):
            response = await client.get(path)
            assert response.status_code in (404, 422), (path, response.text)
            assert set(response.json()) == {"error", "detail"}
        assert (await client.get(url(SERVED, "model_int8.tflite"))).content == INT8


async def test_a_file_not_matching_its_sha256_is_never_served(
    gateway_settings, model_server, publish, clean_gateway
) -> None:
    tampered = INT8[:-1] + b"X"  # same size, other bytes
    await publish(SERVED, LISTED, {"model_int8.tflite": tampered, "model.onnx": ONNX + b"extra"})
    model_server.serve(SERVED)
    async with serving_gateway(gateway_settings, model_server) as (app, client):
        for file in ("model_int8.tflite", "model.onnx", "model_int8.tflite"):
            response = await client.get(url(SERVED, file))
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "device_file_mismatch"
            assert int(response.headers["retry-after"]) > 0
            assert "etag" not in response.headers and "immutable" not in response.headers.get("cache-control", "")
        assert app.state.device_models.files.size == 0


async def test_versions_without_device_files_or_metadata(
    gateway_settings, model_server, publish, clean_gateway
) -> None:
    older = {key: value for key, value in metadata().items() if key != "devices"}
    await publish(SERVED, older, {"model.tflite": b"an old tflite"}, card=False)
    model_server.serve(SERVED)
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        body = (await client.get("/models/current")).json()
        assert (body["version"], body["formats"], body["card"]) == (SERVED, [], None)
        assert (await client.get(url(SERVED, "model.tflite"))).status_code == 404

    model_server.serve(NEXT)  # no metadata.json at all: the defaults
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        body = (await client.get("/models/current")).json()
        assert (body["version"], body["formats"], body["decision_threshold"]) == (NEXT, [], 0.5)
        assert str(MODEL_INPUT_SIZE) in body["preprocessing"]["description"]


async def test_nothing_served_is_503(gateway_settings, model_server, publish, clean_gateway) -> None:
    await publish(SERVED, LISTED, {"model_int8.tflite": INT8})
    model_server.unload(1)
    async with serving_gateway(gateway_settings, model_server) as (_, client):
        for path in ("/models/current", url(SERVED, "model_int8.tflite")):
            response = await client.get(path)
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "model_unavailable" and response.json()["detail"]
            assert int(response.headers["retry-after"]) > 0


async def test_s3_unreachable_is_503_with_retry_after(gateway_settings, model_server, clean_gateway) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    async with serving_gateway(gateway_settings, model_server, s3_endpoint_url=closed) as (_, client):
        for path in ("/models/current", url(1, "model_int8.tflite")):
            response = await client.get(path)
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "storage_unavailable"
            assert int(response.headers["retry-after"]) > 0


async def test_a_promoted_version_changes_current(gateway_settings, model_server, publish, clean_gateway) -> None:
    await publish(SERVED, LISTED, {"model_int8.tflite": INT8, "model.onnx": ONNX})
    newer_int8 = INT8 + b"v2"
    await publish(NEXT, metadata(device("tflite_int8", newer_int8)), {"model_int8.tflite": newer_int8})
    model_server.serve(SERVED)
    async with serving_gateway(gateway_settings, model_server) as (app, client):
        first = await client.get("/models/current")
        etag = first.headers["etag"]
        assert first.json()["version"] == SERVED

        model_server.serve(NEXT)
        await app.state.tracker.refresh()  # the periodic look at the label
        second = await client.get("/models/current", headers={"If-None-Match": etag})
        assert second.status_code == 200
        assert second.json()["version"] == NEXT and second.headers["etag"] != etag
        assert [entry["url"] for entry in second.json()["formats"]] == [url(NEXT, "model_int8.tflite")]
        assert (await client.get(url(NEXT, "model_int8.tflite"))).content == newer_int8
        assert (await client.get(url(SERVED, "model_int8.tflite"))).status_code == 404  # no longer served


def test_if_none_match() -> None:
    assert matches('"a"', '"a"') and matches('W/"a"', '"a"') and matches('"b", "a"', '"a"') and matches("*", '"a"')
    assert not matches(None, '"a"') and not matches("", '"a"') and not matches('"b"', '"a"')


def test_the_file_cache_keeps_the_most_recent_within_its_bound() -> None:
    cache = FileCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # a is now the most recent
    cache.put("c", b"9012")
    assert (cache.get("b"), cache.get("a"), cache.get("c"), cache.size) == (None, b"1234", b"9012", 8)
    cache.put("huge", b"x" * 11)
    assert cache.get("huge") is None and cache.size == 8


class UnavailableStore:
    async def get(self, key: str) -> bytes:
        raise StorageUnavailable("the object store is unavailable; try again later")


async def test_an_s3_outage_while_serving_is_503_not_500() -> None:
    store: ObjectStore = UnavailableStore()  # type: ignore[assignment]
    model = ServedModel("skinguard", SERVED, "image", MODEL_INPUT_SIZE, "probabilities")
    devices = DeviceModels(store, VersionMetadataCache(store, timeout_seconds=1), PublicCards(store, timeout_seconds=1))
    entry = DeviceModel.model_validate(LISTED["devices"][0])
    with pytest.raises(StorageUnavailable) as raised:
        await devices.content(model, entry)
    assert raised.value.status_code == 503 and raised.value.headers["Retry-After"]
