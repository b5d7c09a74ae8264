"""Faults injected into the test session's own servers: paused with SIGSTOP (the process and all
its children: PostgreSQL's backends run in sessions of their own) and always resumed."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
import pytest
import pytest_asyncio


@pytest.fixture
def infra(servers):
    if servers.infra is None:
        pytest.skip("faults are injected into the embedded servers only")
    return servers.infra


@contextmanager
def paused(server) -> Iterator[None]:
    root = psutil.Process(server.process.popen.pid)
    processes = [root, *root.children(recursive=True)]
    for process in processes:
        process.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            try:
                process.send_signal(signal.SIGCONT)
            except psutil.NoSuchProcess:
                pass


@pytest_asyncio.fixture
async def client(annotation_service, clean_state):
    """The annotation service (for ``dataset``)."""
    return annotation_service[1]


from worker.conftest import dataset  # noqa: E402,F401  (a frozen dataset to submit jobs for)
