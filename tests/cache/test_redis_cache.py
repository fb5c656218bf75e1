"""RedisCache specifics: what lands in Redis (compression, TTL, key layout) and how."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from musewave.cache import RedisCache, make_cache
from musewave.cache.keys import physical_key, sha256_hex
from musewave.redis_connections import eviction_policy
from tests.cache.support import RedisServer


@pytest.fixture
def raw(cache_redis_url: str) -> Iterator[redis.Redis]:
    """A plain client on the same server, to look at what the cache stored."""
    client = redis.Redis.from_url(cache_redis_url)
    yield client
    client.close()


def test_compressible_values_over_1_kb_are_stored_compressed(
    redis_cache: RedisCache, raw: redis.Redis, namespace: str
) -> None:
    value = b'{"notes": [60, 64, 67, 72]} ' * 200
    redis_cache.set(namespace, "big", value)
    stored_bytes = raw.strlen(physical_key(namespace, "big"))
    assert stored_bytes < len(value) / 10
    assert redis_cache.get(namespace, "big") == value


def test_small_and_incompressible_values_are_stored_raw(
    redis_cache: RedisCache, raw: redis.Redis, namespace: str
) -> None:
    noise = os.urandom(8192)
    redis_cache.mset(namespace, {"small": b"x" * 1000, "noise": noise})
    assert raw.get(physical_key(namespace, "small")) == b"\x00" + b"x" * 1000
    assert raw.strlen(physical_key(namespace, "noise")) == len(noise) + 1
    assert redis_cache.mget(namespace, ["small", "noise"]) == [b"x" * 1000, noise]


def test_default_ttl_is_one_hour_and_explicit_ttls_are_milliseconds(
    redis_cache: RedisCache, raw: redis.Redis, namespace: str
) -> None:
    redis_cache.set(namespace, "default", b"v")
    redis_cache.mset(namespace, {"short": b"v"}, ttl_s=2.5)
    assert 3_590_000 < raw.pttl(physical_key(namespace, "default")) <= 3_600_000
    assert 2_000 < raw.pttl(physical_key(namespace, "short")) <= 2_500


def test_long_keys_are_stored_under_their_sha256(
    redis_cache: RedisCache, raw: redis.Redis, namespace: str
) -> None:
    key = "prompt:" + "dreamy synthwave at night " * 20
    redis_cache.set(namespace, key, b"v")
    name = f"musewave:{namespace}:#{sha256_hex(key.encode())}"
    assert raw.exists(name) == 1
    assert redis_cache.get(namespace, key) == b"v"


def test_delete_pattern_pages_through_scan_and_never_uses_keys(
    redis_cache: RedisCache, raw: redis.Redis, namespace: str
) -> None:
    redis_cache.mset(namespace, {f"doomed:{i}": b"x" for i in range(1500)})
    redis_cache.mset(namespace, {f"kept:{i}": b"x" for i in range(1000)})
    redis_cache.mset(namespace, {"doomed:" + "y" * 300: b"x"})
    before = raw.info("commandstats")

    assert redis_cache.delete_pattern(namespace, "doomed:*") == 1501

    after = raw.info("commandstats")
    scans = after["cmdstat_scan"]["calls"] - before.get("cmdstat_scan", {"calls": 0})["calls"]
    keys_calls = after.get("cmdstat_keys", {"calls": 0})["calls"]
    assert keys_calls == before.get("cmdstat_keys", {"calls": 0})["calls"]
    assert scans >= 4  # several pages in each of the two passes
    kept = redis_cache.mget(namespace, [f"kept:{i}" for i in range(1000)])
    assert kept == [b"x"] * 1000


def test_a_value_not_written_by_the_cache_is_a_miss_and_an_error(
    redis_cache: RedisCache, raw: redis.Redis, namespace: str
) -> None:
    raw.set(physical_key(namespace, "foreign"), b"\x7fnot ours")
    assert redis_cache.get(namespace, "foreign") is None
    stats = redis_cache.stats()
    assert (stats.misses, stats.errors) == (1, 1)


def test_from_url_sets_socket_timeouts_and_leaves_retrying_to_the_cache(
    cache_redis_url: str,
) -> None:
    cache = make_cache(cache_redis_url)
    assert isinstance(cache, RedisCache)
    kwargs = cache.client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 2.0
    assert kwargs["socket_connect_timeout"] == 2.0
    assert kwargs["retry"].get_retries() == 0
    cache.close()


def test_eviction_policy_is_read_from_the_server(private_redis: RedisServer) -> None:
    cache = RedisCache.from_url(private_redis.url)
    assert cache.check_eviction_policy() == "noeviction"
    cache.client.config_set("maxmemory-policy", "allkeys-lru")
    assert eviction_policy(cache.client) == "allkeys-lru"
    cache.close()
