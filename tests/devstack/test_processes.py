"""Ports the dev stack gives its servers."""

from __future__ import annotations

import socket
from pathlib import Path

from skinguard_devstack import processes
from skinguard_devstack.processes import free_port


def _ephemeral_ports() -> range:
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return range(low, high + 1)


def test_a_free_port_is_outside_the_range_outgoing_connections_take():
    # A port from bind(0) can be taken by any outgoing connection before the server binds it
    # (CI saw the gateway fail with "address already in use" this way).
    ephemeral = _ephemeral_ports()
    ports = {free_port() for _ in range(50)}
    assert not ports & set(ephemeral)
    assert len(ports) > 40, "ports are chosen at random so concurrent callers rarely collide"


def test_a_free_port_skips_one_that_is_held(monkeypatch):
    with socket.socket() as held:
        held.bind(("127.0.0.1", free_port()))
        held_port = held.getsockname()[1]
        other = free_port()
        picks = iter([held_port, held_port, other])
        monkeypatch.setattr(processes.random, "choice", lambda ports: next(picks))
        assert free_port() == other
