"""Serving fixtures: tiny SavedModels exported once per session, and in-process model servers."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from skinguard_devstack.processes import free_port
from skinguard_serving.settings import ServingSettings

from .helpers import BIASES, MODEL, RunningServer


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """Version number -> a SavedModel export to install under that number."""
    from .savedmodels import export_classifier  # imports TensorFlow: only for tests that serve

    root = tmp_path_factory.mktemp("exports")
    for version, bias in BIASES.items():
        export_classifier(root / str(version), bias)
    return {version: root / str(version) for version in BIASES}


@pytest.fixture(scope="session")
def start_server():
    """Start in-process servers on free ports; they stop at the end of the session."""
    started: list[RunningServer] = []

    from skinguard_serving.server import ModelServer  # imports TensorFlow: only for tests that serve

    def start(repository: Path, **settings) -> RunningServer:
        server = ModelServer(
            ServingSettings(
                model_repository=repository,
                serving_host="127.0.0.1",
                serving_grpc_port=0,
                serving_metrics_port=free_port(),
                file_system_poll_wait_seconds=0.1,
                model_config_file_poll_wait_seconds=0.2,
                log_json=False,
                **settings,
            )
        )
        server.start()
        running = RunningServer(server, grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}"), repository)
        started.append(running)
        return running

    yield start
    for running in started:
        running.channel.close()
        running.server.stop(grace_seconds=1.0)


@pytest.fixture(scope="session")
def model_server(start_server, exported, tmp_path_factory: pytest.TempPathFactory) -> RunningServer:
    """Versions 1 and 2 of MODEL, both loaded, labelled stable -> 1 and canary -> 2; batching on."""
    from .savedmodels import install_version

    repository = tmp_path_factory.mktemp("repository")
    for version in (1, 2):
        install_version(exported[version], repository / MODEL, version)
    config = repository / "models.config"
    config.write_text(
        f"""
        model_config_list {{
          config {{
            name: "{MODEL}"
            base_path: "{repository / MODEL}"
            model_platform: "tensorflow"
            model_version_policy {{ all {{}} }}
            version_labels {{ key: "stable" value: 1 }}
            version_labels {{ key: "canary" value: 2 }}
          }}
        }}
        """
    )
    batching = repository / "batching_parameters.txt"
    batching.write_text("max_batch_size { value: 64 }\nbatch_timeout_micros { value: 50000 }\n")
    return start_server(repository, model_config_file=config, batching_parameters_file=batching)
