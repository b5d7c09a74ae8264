"""Following the label: which version is served, its model card read once, failures that do and do not count."""

from __future__ import annotations

import asyncio
import json

import pytest
from prometheus_client import CollectorRegistry

from skinguard_contracts.keys import model_metadata_key
from skinguard_gateway.errors import ModelUnavailable, ServingUnavailable
from skinguard_gateway.metrics import GatewayMetrics
from skinguard_gateway.serving.client import ModelRef
from skinguard_gateway.serving.tracker import ModelTracker
from skinguard_gateway.serving.version_metadata import DEFAULT_METADATA, VersionMetadataCache
from skinguard_runtime.storage import ObjectMissing, StorageUnavailable
from support.model_server_double import InMemoryModelClient

CALIBRATED = {"benign_low": 0.95, "benign_low_medium": 0.8, "malignant_high": 0.6, "malignant_medium_high": 0.4}


class MemoryStore:
    """The part of an ObjectStore the cards use, counting reads; ``down`` makes it unreachable."""

    def __init__(self, objects: dict[str, bytes] | None = None) -> None:
        self.objects = objects or {}
        self.reads: list[str] = []
        self.down = False

    async def get(self, key: str) -> bytes:
        self.reads.append(key)
        if self.down:
            raise StorageUnavailable("object store unreachable")
        if key not in self.objects:
            raise ObjectMissing(key)
        return self.objects[key]


class CountingClient(InMemoryModelClient):
    def __init__(self) -> None:
        super().__init__(input_size=32)
        self.describes = 0

    async def describe(self, ref):
        self.describes += 1
        await asyncio.sleep(0.01)  # lets concurrent refreshes pile up on the lock
        return await super().describe(ref)


def tracker_for(client: InMemoryModelClient, store: MemoryStore, **options) -> tuple[ModelTracker, GatewayMetrics]:
    metrics = GatewayMetrics(CollectorRegistry())
    cards = VersionMetadataCache(store, timeout_seconds=1)
    return ModelTracker(client, ModelRef("skinguard", label="stable"), cards, metrics, **options), metrics


def metadata(**fields) -> bytes:
    return json.dumps({"model_name": "skinguard", "decision_threshold": 0.5, **fields}).encode()


async def test_the_tracker_follows_the_label_and_reads_each_card_once() -> None:
    client = CountingClient()
    client.serve(1)
    store = MemoryStore({model_metadata_key("skinguard", 2): metadata(risk_thresholds=CALIBRATED)})
    tracker, metrics = tracker_for(client, store)

    assert (await tracker.get()).version == 1
    assert tracker.metadata("skinguard", 1) == DEFAULT_METADATA  # no metadata.json: the original rules
    client.serve(2)
    assert (await tracker.refresh()).version == 2
    assert tracker.metadata("skinguard", 2).risk_thresholds.malignant_high == 0.6
    for _ in range(3):
        await tracker.refresh()
    assert store.reads == [model_metadata_key("skinguard", 1), model_metadata_key("skinguard", 2)]
    assert metrics.model_version.labels("skinguard")._value.get() == 2


async def test_an_unreachable_store_means_default_rules_until_a_later_refresh_reads_the_card() -> None:
    client = InMemoryModelClient()
    client.serve(1)
    store = MemoryStore({model_metadata_key("skinguard", 1): metadata(decision_threshold=0.3)})
    store.down = True
    tracker, _ = tracker_for(client, store)
    await tracker.refresh()
    assert tracker.current.version == 1 and tracker.metadata("skinguard", 1) == DEFAULT_METADATA
    store.down = False
    await tracker.refresh()
    assert tracker.metadata("skinguard", 1).decision_threshold == 0.3


async def test_an_invalid_card_means_default_rules() -> None:
    client = InMemoryModelClient()
    client.serve(1)
    store = MemoryStore({model_metadata_key("skinguard", 1): metadata(risk_thresholds={"benign_low": 2})})
    tracker, _ = tracker_for(client, store)
    await tracker.refresh()
    assert tracker.metadata("skinguard", 1) == DEFAULT_METADATA


async def test_many_requests_finding_their_version_gone_cause_one_refresh() -> None:
    client = CountingClient()
    client.serve(1)
    tracker, _ = tracker_for(client, MemoryStore())
    old = await tracker.get()
    client.serve(2)
    results = await asyncio.gather(*(tracker.refresh(replacing=old) for _ in range(10)))
    assert {model.version for model in results} == {2}
    assert client.describes == 2  # the first get, then one refresh


async def test_no_model_is_a_definitive_answer_an_unreachable_server_is_not() -> None:
    client = InMemoryModelClient()
    client.serve(1)
    tracker, metrics = tracker_for(client, MemoryStore())
    await tracker.refresh()

    client.failure = ServingUnavailable("down")
    with pytest.raises(ServingUnavailable):
        await tracker.refresh()
    assert tracker.current.version == 1 and not tracker.healthy  # requests still try version 1

    client.failure = None
    client.labels.clear()  # the label is gone: nothing to serve
    with pytest.raises(ModelUnavailable):
        await tracker.refresh()
    assert tracker.current is None
    assert metrics.model_version.labels("skinguard")._value.get() == 0


async def test_while_no_model_is_served_the_server_is_asked_at_most_once_a_second() -> None:
    client = CountingClient()
    tracker, _ = tracker_for(client, MemoryStore(), retry_after_failure_seconds=0.2)
    for _ in range(5):
        with pytest.raises(ModelUnavailable):
            await tracker.get()
    assert client.describes == 1
    await asyncio.sleep(0.25)
    client.serve(3)
    assert (await tracker.get()).version == 3
