"""The whole system as processes (``skinguard-dev run`` on free ports), for tests that drive it
over HTTP or in a browser like a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from skinguard_devstack.processes import free_port

# A tiny CNN that trains in seconds through the API: for tests of the plumbing, not of the model.
TINY_TRAINING = {
    "model_type": "CNN",
    "input_size": 32,
    "batch_size": 4,
    "epochs": 2,
    "augmentation": False,
    "early_stopping_patience": 0,
    "reduce_lr_patience": 0,
}
# A quality gate every version passes (the system's environment).
OPEN_GATE = {
    "SKINGUARD_GATE_MIN_AUC": "0",
    "SKINGUARD_GATE_MARGIN": "1",
    "SKINGUARD_GATE_SENSITIVITY_TOLERANCE": "1",
    "SKINGUARD_GATE_MAX_ECE": "1",
}

SERVICE_PORTS = {
    "ingestion": "SKINGUARD_INGESTION_PORT",
    "annotation": "SKINGUARD_ANNOTATION_PORT",
    "gateway": "SKINGUARD_GATEWAY_PORT",
    "webapp": "SKINGUARD_WEBAPP_PORT",
    "metrics": "SKINGUARD_SERVING_METRICS_PORT",
}


@dataclass
class RunningSystem:
    urls: dict[str, str]  # service -> http://127.0.0.1:<port>
    ports: dict[str, int]
    keys: dict[str, str]  # role -> dev API key
    secrets: dict[str, str]
    root: Path
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.communicate(timeout=60)


def start_system(root: Path, extra_env: dict[str, str] | None = None) -> RunningSystem:
    ports = {name: free_port() for name in (*SERVICE_PORTS, "postgres", "redis", "s3", "grpc")}
    port_env = {variable: str(ports[name]) for name, variable in SERVICE_PORTS.items()}
    env = {**os.environ, **port_env, **(extra_env or {})}
    command = [
        str(Path(sys.executable).parent / "skinguard-dev"),
        "run",
        "--data-dir",
        str(root / "data"),
        "--postgres-port",
        str(ports["postgres"]),
        "--redis-port",
        str(ports["redis"]),
        "--s3-port",
        str(ports["s3"]),
        "--serving-grpc-port",
        str(ports["grpc"]),
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if "Press Ctrl-C to stop" in line:
            break
    else:
        raise RuntimeError("the system did not start:\n" + "".join(output))
    data = root / "data"
    return RunningSystem(
        urls={name: f"http://127.0.0.1:{ports[name]}" for name in SERVICE_PORTS},
        ports=ports,
        keys=json.loads((data / "dev-keys.json").read_text()),
        secrets=json.loads((data / "secrets.json").read_text()),
        root=root,
        process=process,
    )
