"""``skinguard-model-server``: tensorflow_model_server's flags, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from skinguard_devstack.processes import free_port
from skinguard_protos.tensorflow_serving.apis import prediction_service_pb2_grpc
from skinguard_serving.server_cli import parse_settings

from .helpers import DEADLINE, MODEL, predict_request, wait_until


def test_tensorflow_model_server_flag_spellings_are_accepted():
    settings = parse_settings(
        [
            "--port=9000",
            "--model_config_file=/config/models.config",
            "--model-config-file-poll-wait-seconds",
            "30",
            "--enable_batching=false",
            "--enable_model_warmup",
            "--batching_parameters_file=/config/batching_parameters.txt",
        ]
    )

    assert settings.serving_grpc_port == 9000
    assert settings.model_config_file == Path("/config/models.config")
    assert settings.model_config_file_poll_wait_seconds == 30.0
    assert (settings.enable_batching, settings.enable_model_warmup) == (False, True)
    assert settings.batching_parameters_file == Path("/config/batching_parameters.txt")


def _serving(channel: grpc.Channel) -> bool:
    try:
        response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1.0)
    except grpc.RpcError:
        return False
    return response.status == health_pb2.HealthCheckResponse.SERVING


def test_sigterm_stops_a_serving_server_cleanly(exported, tmp_path):
    from .savedmodels import install_version

    install_version(exported[1], tmp_path / MODEL, 1)
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "skinguard-model-server"),
        f"--port={port}",
        "--host=127.0.0.1",
        "--metrics-port=0",
        f"--model_name={MODEL}",
        f"--model_base_path={tmp_path / MODEL}",
    ]
    process = subprocess.Popen(
        command, env={**os.environ, "SKINGUARD_LOG_JSON": "false"}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            wait_until(lambda: process.poll() is not None or _serving(channel), timeout=90)
            assert process.poll() is None, process.stdout.read().decode()
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            assert stub.Predict(predict_request(), timeout=DEADLINE).model_spec.version.value == 1

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "model server stopped" in process.stdout.read().decode()
