"""Fixtures for the resilience tests: the test Redis (log_lines is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from musewave.resilience.breaker_state import KEY_PREFIX


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the test Redis; the breaker keys tests wrote are deleted after."""
    client = redis.Redis.from_url(redis_url)
    yield client
    keys = list(client.scan_iter(match=f"{KEY_PREFIX}*"))
    if keys:
        client.delete(*keys)
    client.close()
