"""Cache fixtures: every shared behaviour test runs on ``LocalCache`` and on ``RedisCache``.

Redis comes from ``MUSEWAVE_TEST_REDIS_URL`` when set (each test then works in its own
namespace and removes it afterwards); otherwise a private ``redis-server`` is started for the
session. Tests that stop and restart Redis always get their own server (``private_redis``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest

from musewave.cache import Cache, LocalCache, RedisCache
from tests.cache.support import FakeClock, RedisServer, require_redis_server_binary
from tests.conftest import REDIS_URL_VAR


@dataclass
class CacheCase:
    """A cache under test with a namespace of its own and a way to let time pass."""

    cache: Cache
    namespace: str
    pass_time: Callable[[float], None]


@pytest.fixture(scope="session")
def cache_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test Redis: ``MUSEWAVE_TEST_REDIS_URL`` if set, else a private server."""
    url = os.environ.get(REDIS_URL_VAR, "").strip()
    if url:
        yield url
        return
    server = RedisServer(require_redis_server_binary(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, running; the test may stop and restart it."""
    server = RedisServer(require_redis_server_binary(), tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def namespace() -> str:
    return f"t{uuid4().hex[:12]}"


@pytest.fixture
def redis_cache(cache_redis_url: str, namespace: str) -> Iterator[RedisCache]:
    cache = RedisCache.from_url(cache_redis_url)
    yield cache
    cache.delete_pattern(namespace, "*")
    cache.close()


@pytest.fixture(params=["local", "redis"])
def case(request: pytest.FixtureRequest, namespace: str) -> CacheCase:
    """The same test on both backends: LocalCache (fake clock) and RedisCache (real time)."""
    if request.param == "local":
        clock = FakeClock()
        # Room for the many-keys tests; LRU bounds have tests of their own.
        local = LocalCache(max_entries=10_000, clock=clock)
        return CacheCase(local, namespace, clock.advance)
    cache: RedisCache = request.getfixturevalue("redis_cache")
    return CacheCase(cache, namespace, time.sleep)
