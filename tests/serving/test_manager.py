"""Version lifecycle and request routing of the manager, with fake servables (no TensorFlow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skinguard_model_repository.models_config import ModelConfig, VersionPolicy
from skinguard_protos.tensorflow_serving.apis import model_pb2
from skinguard_serving.errors import InvalidArgument, NotFound
from skinguard_serving.manager import ModelManager, State
from skinguard_serving.metrics import ServingMetrics


class FakeServable:
    def __init__(self, path: Path) -> None:
        if (path / "broken").exists():
            raise RuntimeError(f"cannot load {path}")
        self.signature_defs: dict = {}

    def run(self, signature_name, inputs):
        return {}

    def warmup_requests(self):
        return []


def spec(version: int | None = None, label: str | None = None) -> model_pb2.ModelSpec:
    model_spec = model_pb2.ModelSpec(name="m")
    if version is not None:
        model_spec.version.value = version
    if label is not None:
        model_spec.version_label = label
    return model_spec


def add_version(base_path: Path, version: int, *, broken: bool = False) -> None:
    (base_path / str(version)).mkdir(parents=True)
    if broken:
        (base_path / str(version) / "broken").touch()


def states(manager: ModelManager) -> list[tuple[int, int]]:
    return [(status.version, status.state) for status in manager.version_statuses(spec())]


@pytest.fixture
def base_path(tmp_path: Path) -> Path:
    return tmp_path / "m"


def make_manager(base_path: Path, load=FakeServable, **config) -> ModelManager:
    manager = ModelManager(load, ServingMetrics(), batching=None, warmup=True)
    manager.configure([ModelConfig("m", base_path, **config)])
    return manager


def test_a_new_version_loads_while_the_old_one_still_answers(base_path):
    add_version(base_path, 1)
    seen_during_load: list[int] = []

    def load(path: Path) -> FakeServable:
        if path.name == "2":
            seen_during_load.append(manager.resolve(spec()).version)
        return FakeServable(path)

    manager = make_manager(base_path, load)
    manager.reconcile()
    add_version(base_path, 2)
    manager.reconcile()

    assert seen_during_load == [1]
    assert states(manager) == [(2, State.AVAILABLE), (1, State.END)]
    assert manager.resolve(spec()).version == 2


def test_a_version_that_fails_to_load_ends_and_the_old_one_stays(base_path):
    add_version(base_path, 1)
    manager = make_manager(base_path)
    manager.reconcile()
    add_version(base_path, 2, broken=True)

    manager.reconcile()
    manager.reconcile()

    [failed, kept] = manager.version_statuses(spec())
    assert (failed.version, failed.state, kept.version, kept.state) == (2, State.END, 1, State.AVAILABLE)
    assert "cannot load" in failed.status.error_message
    assert manager.resolve(spec()).version == 1


def test_a_failed_version_is_retried_only_after_its_directory_comes_back(base_path):
    add_version(base_path, 1, broken=True)
    attempts: list[Path] = []
    manager = make_manager(base_path, lambda path: attempts.append(path) or FakeServable(path))

    manager.reconcile()
    manager.reconcile()
    assert len(attempts) == 1

    (base_path / "1").rename(base_path / ".tmp-1")
    manager.reconcile()
    (base_path / ".tmp-1" / "broken").unlink()
    (base_path / ".tmp-1").rename(base_path / "1")
    manager.reconcile()

    assert len(attempts) == 2
    assert states(manager) == [(1, State.AVAILABLE)]


def test_the_policy_decides_which_versions_stay(base_path):
    for version in (1, 2, 3):
        add_version(base_path, version)
    manager = make_manager(base_path, policy=VersionPolicy("specific", versions=frozenset({1, 3})))

    manager.reconcile()

    assert states(manager) == [(3, State.AVAILABLE), (1, State.AVAILABLE)]


def test_labels_resolve_through_the_config(base_path):
    for version in (1, 2):
        add_version(base_path, version)
    manager = make_manager(base_path, policy=VersionPolicy("all"), labels={"stable": 1, "canary": 3})
    manager.reconcile()

    assert manager.resolve(spec(label="stable")).version == 1
    with pytest.raises(NotFound, match=r"Specific\(m, 3\)"):
        manager.resolve(spec(label="canary"))
    with pytest.raises(InvalidArgument, match="Unrecognized servable version label: beta"):
        manager.resolve(spec(label="beta"))


def test_a_model_dropped_from_the_config_is_unloaded_and_its_history_kept(base_path):
    add_version(base_path, 1)
    manager = make_manager(base_path)
    manager.reconcile()
    assert manager.ready()

    manager.configure([])
    manager.reconcile()

    assert states(manager) == [(1, State.END)]
    with pytest.raises(NotFound, match=r"Latest\(m\)"):
        manager.resolve(spec())


def test_ready_only_when_every_model_has_an_available_version(base_path):
    manager = make_manager(base_path)
    manager.reconcile()
    assert not manager.ready()

    add_version(base_path, 1)
    manager.reconcile()
    assert manager.ready()


def test_close_unloads_every_version(base_path):
    add_version(base_path, 1)
    manager = make_manager(base_path)
    manager.reconcile()

    manager.close()

    assert states(manager) == [(1, State.END)]
