"""LocalCache specifics: LRU bounds, expiry by the injected clock, thread safety."""

from __future__ import annotations

import threading

import pytest

from musewave.cache import LocalCache, make_cache
from tests.cache.support import FakeClock

NS = "local"


def test_least_recently_used_entry_is_evicted_first() -> None:
    cache = LocalCache(max_entries=3)
    cache.mset(NS, {"a": b"1", "b": b"2", "c": b"3"})
    assert cache.get(NS, "a") == b"1"
    cache.set(NS, "d", b"4")
    assert cache.mget(NS, ["a", "b", "c", "d"]) == [b"1", None, b"3", b"4"]
    assert len(cache) == 3


def test_total_bytes_are_bounded() -> None:
    cache = LocalCache(max_bytes=100)
    cache.set(NS, "a", b"x" * 40)
    cache.set(NS, "b", b"x" * 40)
    cache.set(NS, "c", b"x" * 40)
    assert cache.mget(NS, ["a", "b", "c"]) == [None, b"x" * 40, b"x" * 40]


def test_a_value_over_max_bytes_is_not_stored_and_drops_the_old_one() -> None:
    cache = LocalCache(max_bytes=100)
    cache.set(NS, "a", b"small")
    cache.set(NS, "a", b"x" * 101)
    assert cache.get(NS, "a") is None
    assert len(cache) == 0


def test_expiry_follows_the_injected_clock() -> None:
    clock = FakeClock()
    cache = LocalCache(clock=clock, default_ttl_s=10)
    cache.set(NS, "default", b"v")
    cache.set(NS, "short", b"v", ttl_s=1.5)
    clock.advance(1.49)
    assert cache.mget(NS, ["default", "short"]) == [b"v", b"v"]
    clock.advance(0.01)
    assert cache.mget(NS, ["default", "short"]) == [b"v", None]
    clock.advance(8.5)
    assert cache.get(NS, "default") is None
    assert len(cache) == 0


def test_expired_entries_are_not_counted_by_delete_pattern() -> None:
    clock = FakeClock()
    cache = LocalCache(clock=clock)
    cache.set(NS, "k:old", b"v", ttl_s=1)
    cache.set(NS, "k:new", b"v", ttl_s=100)
    clock.advance(2)
    assert cache.delete_pattern(NS, "k:*") == 1
    assert len(cache) == 0


def test_concurrent_use_keeps_the_bounds() -> None:
    cache = LocalCache(max_entries=64, max_bytes=64 * 100)
    errors: list[BaseException] = []

    def hammer(worker: int) -> None:
        try:
            for i in range(2000):
                key = f"{worker}:{i % 97}"
                cache.set(NS, key, bytes([worker]) * (i % 100))
                value = cache.get(NS, key)
                assert value is None or value == bytes([worker]) * len(value)
                if i % 250 == 0:
                    cache.delete_pattern(NS, f"{worker}:1*")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 64
    stats = cache.stats()
    assert stats.hits + stats.misses == 8 * 2000


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LocalCache(max_entries=0)


def test_make_cache_without_a_url_is_local() -> None:
    assert isinstance(make_cache(None), LocalCache)
