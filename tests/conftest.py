"""Session-wide fixtures. Integration tests (marked ``integration``) get real servers; unit tests none."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from support.servers import TestServers, start_test_servers

pytest_plugins = ["support.system"]

# Property-based tests: a few dozen cases each in `make test`; `make fuzz` selects "fuzz".
settings.register_profile("default", max_examples=25, deadline=None)
settings.register_profile("fuzz", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestServers]:
    started = start_test_servers(tmp_path_factory.mktemp("servers"))
    try:
        yield started
    finally:
        started.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the servers is an integration test: ``-m "not integration"`` skips it."""
    for item in items:
        if "servers" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)
