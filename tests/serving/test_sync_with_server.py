"""model-sync against a real S3 server (SeaweedFS): placement, labels, removal, interruption."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import grpc
import pytest

import skinguard_model_sync.sync
from skinguard_model_repository.models_config import read_model_config_file, set_version_labels
from skinguard_model_sync.settings import SyncSettings
from skinguard_model_sync.sync import ModelSync, SyncError, s3_client

from .helpers import DEADLINE, State, predict_request, wait_until


@pytest.fixture
def model() -> str:
    return f"sync_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def settings(servers, tmp_path: Path, model: str, monkeypatch: pytest.MonkeyPatch) -> SyncSettings:
    for name, value in servers.env.items():
        monkeypatch.setenv(name, value)
    return SyncSettings(
        model_repository=tmp_path / "models",
        model_config_file=tmp_path / "models.config",
        sync_models=[model],
        sync_keep_versions=2,
        sync_available_timeout_seconds=30,
        log_json=False,
    )


class Registry:
    """Writes what the registry writes: version files and versions.json."""

    def __init__(self, settings: SyncSettings, model: str, export: Path) -> None:
        self.s3 = s3_client(settings)
        self.bucket = settings.s3_bucket
        self.model = model
        self.export = export

    def publish(self, version: int) -> None:
        prefix = f"models/{self.model}/{version}"
        for path in self.export.rglob("*"):
            if path.is_file():
                self.s3.upload_file(str(path), self.bucket, f"{prefix}/{path.relative_to(self.export)}")
        for extra in ("metadata.json", "model.tflite", "plots/roc.png"):
            self.s3.put_object(Bucket=self.bucket, Key=f"{prefix}/{extra}", Body=b"{}")

    def set_versions(self, *versions: tuple[int, str, list[str]], generation: int = 0) -> None:
        body = {
            "model": self.model,
            "generation": generation,
            "versions": [{"version": v, "status": s, "labels": labels} for v, s, labels in versions],
        }
        self.s3.put_object(Bucket=self.bucket, Key=f"models/{self.model}/versions.json", Body=json.dumps(body).encode())


@pytest.fixture
def registry(settings, model, exported) -> Registry:
    registry = Registry(settings, model, exported[1])
    for version in range(1, 6):
        registry.publish(version)
    return registry


def on_disk(settings: SyncSettings, model: str) -> list[str]:
    return sorted(entry.name for entry in (settings.model_repository / model).iterdir())


def labels(settings: SyncSettings) -> dict[str, int]:
    [config] = read_model_config_file(settings.model_config_file)
    return dict(config.labels)


def test_sync_places_promoted_versions_moves_labels_and_removes_retired_ones(settings, model, registry):
    sync = ModelSync(settings)
    registry.set_versions(
        (1, "promoted", []), (2, "promoted", []), (3, "promoted", []), (4, "candidate", ["canary"]), (5, "rejected", [])
    )

    first = sync.sync_model(model)

    assert sorted(first.downloaded) == [2, 3, 4]
    assert on_disk(settings, model) == ["2", "3", "4"]
    assert labels(settings) == {"stable": 3, "canary": 4}
    version_files = sorted(
        str(path.relative_to(settings.model_repository / model / "3"))
        for path in (settings.model_repository / model / "3").rglob("*")
    )
    assert "saved_model.pb" in version_files and "metadata.json" in version_files
    assert "variables/variables.index" in version_files and "assets.extra/tf_serving_warmup_requests" in version_files
    assert "model.tflite" not in version_files and "plots" not in version_files

    # Version 3 is rolled back: stable moves to 2 now, version 3 leaves one cycle later.
    registry.set_versions((1, "promoted", []), (2, "promoted", []), (3, "archived", []), (4, "candidate", []))
    sync.sync_model(model)
    assert labels(settings) == {"stable": 2}
    assert on_disk(settings, model) == ["1", "2", "3", "4"]

    sync.sync_model(model)
    assert on_disk(settings, model) == ["1", "2"]


def test_an_index_older_than_the_one_applied_is_not_followed(settings, model, registry):
    sync = ModelSync(settings)
    registry.set_versions((1, "promoted", []), (2, "promoted", []), generation=5)
    sync.sync_model(model)
    assert labels(settings) == {"stable": 2}
    # A late write of generation 4 (version 2 not yet promoted) must not roll serving back.
    registry.set_versions((1, "promoted", []), (2, "candidate", []), generation=4)
    with pytest.raises(SyncError, match="generation 4, older than generation 5"):
        sync.sync_model(model)
    assert labels(settings) == {"stable": 2} and on_disk(settings, model) == ["1", "2"]
    registry.set_versions((1, "promoted", []), (2, "archived", []), generation=6)
    sync.sync_model(model)
    assert labels(settings) == {"stable": 1}


class DroppingClient:
    """An S3 client whose connection drops on the third file download."""

    def __init__(self, client) -> None:
        self._client = client
        self.downloads = 0

    def __getattr__(self, name: str):
        return getattr(self._client, name)

    def download_file(self, *args, **kwargs):
        self.downloads += 1
        if self.downloads == 3:
            raise ConnectionError("connection dropped")
        return self._client.download_file(*args, **kwargs)


def test_an_interrupted_download_leaves_no_version_behind(settings, model, registry):
    registry.set_versions((1, "promoted", []))

    with pytest.raises(ConnectionError):
        ModelSync(settings, client=DroppingClient(s3_client(settings))).sync_model(model)
    assert on_disk(settings, model) == []

    ModelSync(settings).sync_model(model)
    assert on_disk(settings, model) == ["1"]


def test_a_server_started_before_the_first_sync_gets_the_model_then_its_labels(
    settings, model, registry, start_server, monkeypatch
):
    running = start_server(settings.model_repository, model_config_file=settings.model_config_file)  # no file yet
    sync = ModelSync(settings.model_copy(update={"sync_serving_address": f"127.0.0.1:{running.server.grpc_port}"}))
    registry.set_versions((1, "promoted", []), (2, "candidate", ["canary"]))
    states_when_labelled = []

    def spying_set_version_labels(*args):
        states_when_labelled.append(dict(running.statuses(model)))
        return set_version_labels(*args)

    monkeypatch.setattr(skinguard_model_sync.sync, "set_version_labels", spying_set_version_labels)
    sync.sync_model(model)

    assert states_when_labelled == [{1: State.AVAILABLE, 2: State.AVAILABLE}]
    assert labels(settings) == {"stable": 1, "canary": 2}

    def canary_version() -> int | None:
        try:
            response = running.prediction.Predict(predict_request(model, label="canary"), timeout=DEADLINE)
        except grpc.RpcError:  # the server has not re-read the config yet
            return None
        return response.model_spec.version.value

    wait_until(lambda: canary_version() == 2)
