"""Versions come and go under a running server: load without restart, unload per policy, labels."""

from __future__ import annotations

import grpc
import numpy as np

from skinguard_model_repository.models_config import set_version_labels
from skinguard_protos.tensorflow_serving.apis import get_model_status_pb2
from skinguard_protos.tensors import to_ndarray
from skinguard_protos.xla.tsl.protobuf import error_codes_pb2

from .helpers import BIASES, DEADLINE, MODEL, State, predict_request, rpc_error, wait_until
from .savedmodels import WARMUP_RECORDS, expected_probabilities, install_version


def answering_version(running, **choice) -> int:
    return running.prediction.Predict(predict_request(**choice), timeout=DEADLINE).model_spec.version.value


def test_a_new_version_replaces_the_old_one_without_restart(start_server, exported, tmp_path):
    install_version(exported[1], tmp_path / MODEL, 1)
    running = start_server(tmp_path, model_name=MODEL)  # no config file: latest { num_versions: 1 }
    assert running.statuses() == [(1, State.AVAILABLE)]

    install_version(exported[2], tmp_path / MODEL, 2)
    wait_until(lambda: running.statuses() == [(2, State.AVAILABLE), (1, State.END)])

    response = running.prediction.Predict(predict_request(), timeout=DEADLINE)
    assert response.model_spec.version.value == 2
    np.testing.assert_allclose(
        to_ndarray(response.outputs["probabilities"])[0], expected_probabilities(BIASES[2]), rtol=1e-6
    )
    with rpc_error(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: Specific({MODEL}, 1)"):
        running.prediction.Predict(predict_request(version=1), timeout=DEADLINE)


def test_warmup_records_run_before_a_version_is_available(start_server, exported, tmp_path):
    install_version(exported[1], tmp_path / MODEL, 1)
    running = start_server(tmp_path, model_name=MODEL)

    install_version(exported[3], tmp_path / MODEL, 3)
    wait_until(lambda: (3, State.AVAILABLE) in running.statuses())

    assert running.call_count(version=3) == WARMUP_RECORDS


def test_a_broken_version_ends_with_its_error_and_the_old_one_keeps_serving(start_server, exported, tmp_path):
    install_version(exported[1], tmp_path / MODEL, 1)
    running = start_server(tmp_path, model_name=MODEL)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"not a SavedModel")

    install_version(broken, tmp_path / MODEL, 2)
    wait_until(lambda: running.statuses() == [(2, State.END), (1, State.AVAILABLE)])

    request = get_model_status_pb2.GetModelStatusRequest(model_spec={"name": MODEL, "version": {"value": 2}})
    failed = running.models.GetModelStatus(request, timeout=DEADLINE).model_version_status[0]
    assert failed.status.error_code != error_codes_pb2.OK
    assert "Cannot parse file" in failed.status.error_message
    assert answering_version(running) == 1


def test_labels_follow_the_config_file(start_server, exported, tmp_path):
    for version in (1, 2):
        install_version(exported[version], tmp_path / MODEL, version)
    config = tmp_path / "models.config"
    set_version_labels(config, MODEL, tmp_path / MODEL, {"stable": 1})
    running = start_server(tmp_path, model_config_file=config)
    assert answering_version(running, label="stable") == 1

    set_version_labels(config, MODEL, tmp_path / MODEL, {"stable": 2, "canary": 1})

    wait_until(lambda: answering_version(running, label="stable") == 2)
    assert answering_version(running, label="canary") == 1
