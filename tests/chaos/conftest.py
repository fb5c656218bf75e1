"""Fixtures for the chaos tests: the service tests' ``start_server`` and a private Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.redis_server import PrivateRedis
from tests.conftest import REDIS_URL_VAR, require_service_url
from tests.service.conftest import start_server

__all__ = ["private_redis", "start_server"]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A running Redis of this test's own, stopped at teardown. Runs where the shared test
    services run (``scripts/test-services`` installs ``redis-server``)."""
    require_service_url(REDIS_URL_VAR)
    server = PrivateRedis(tmp_path / "private-redis")
    server.start()
    yield server
    server.stop()
