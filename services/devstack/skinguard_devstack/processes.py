"""Child processes with log files, readiness polling and clean shutdown."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_LISTEN_PORTS = range(20000, 32768)  # below Linux's default ephemeral range


def _listen_ports() -> range:
    """Ports for servers to listen on, outside the kernel's ephemeral range: a port the kernel
    hands to ``bind(0)`` can be taken by any outgoing connection before the server binds it."""
    try:
        low, _ = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return _LISTEN_PORTS
    return range(_LISTEN_PORTS.start, low) if low - _LISTEN_PORTS.start >= 1000 else _LISTEN_PORTS


def free_port() -> int:
    """A port that nothing listens on or holds now, chosen at random so that concurrent callers
    rarely pick the same one."""
    ports = _listen_ports()
    for _ in range(200):
        port = random.choice(ports)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class Process:
    """One child process in its own process group; its output goes to ``log_path``."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        **popen_kwargs,
    ) -> None:
        self.name = name
        self.args = list(args)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.popen_kwargs = popen_kwargs
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                **self.popen_kwargs,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_until(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}:\n{self.log_tail()}")
            try:
                if ready():
                    return
            except Exception:  # not ready yet: keep polling until the deadline
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f}s; see {self.log_path}:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0, sig: int = signal.SIGTERM) -> None:
        if not self.running:
            return
        assert self.popen is not None
        try:
            os.killpg(self.popen.pid, sig)
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""
