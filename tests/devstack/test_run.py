"""``skinguard-dev run`` as a user runs it: start, upload with a dev key, Ctrl-C, restart, data kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from skinguard_devstack.processes import free_port
from support import images


def start_system(data_dir: Path, ports: dict[str, int]) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "skinguard-dev"),
        "run",
        "--data-dir",
        str(data_dir),
        "--postgres-port",
        str(ports["postgres"]),
        "--redis-port",
        str(ports["redis"]),
        "--s3-port",
        str(ports["s3"]),
        "--serving-grpc-port",
        str(ports["grpc"]),
    ]
    env = {
        **os.environ,
        "SKINGUARD_INGESTION_PORT": str(ports["ingestion"]),
        "SKINGUARD_ANNOTATION_PORT": str(ports["annotation"]),
        "SKINGUARD_GATEWAY_PORT": str(ports["gateway"]),
        "SKINGUARD_SERVING_METRICS_PORT": str(ports["metrics"]),
    }
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    deadline = time.monotonic() + 120
    for line in process.stdout:
        output.append(line)
        if "Press Ctrl-C to stop" in line:
            return process
        if time.monotonic() > deadline:
            break
    process.kill()
    pytest.fail("skinguard-dev run did not come up:\n" + "".join(output))


def stop_system(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, rest
    return rest


@pytest.mark.integration
def test_run_upload_stop_restart_keeps_state(tmp_path):
    ports = {
        name: free_port()
        for name in ("postgres", "redis", "s3", "ingestion", "annotation", "gateway", "grpc", "metrics")
    }
    data_dir = tmp_path / "data"
    base = f"http://127.0.0.1:{ports['ingestion']}"

    process = start_system(data_dir, ports)
    try:
        keys = json.loads((data_dir / "dev-keys.json").read_text())
        assert set(keys) == {"admin", "uploader", "annotator", "importer"}
        headers = {"Authorization": f"Bearer {keys['uploader']}"}
        response = httpx.post(
            f"{base}/api/images/upload", headers=headers, files={"image": ("a.jpg", images.jpeg(seed=99), "image/jpeg")}
        )
        assert response.status_code == 201, response.text
        image_id = response.json()["id"]
    finally:
        output = stop_system(process)
    assert "stopped." in output
    assert not any(port_in_use(port) for port in ports.values())

    process = start_system(data_dir, ports)
    try:
        response = httpx.get(f"{base}/api/images/{image_id}/content", headers=headers)
        assert response.status_code == 200
        assert response.content[:2] == b"\xff\xd8"
    finally:
        stop_system(process)


def port_in_use(port: int) -> bool:
    from skinguard_devstack.processes import port_open

    return port_open(port)
