"""Redis down, flapping or refusing writes: the cache degrades, never raises, and recovers."""

from __future__ import annotations

import itertools
import logging
import threading
import time

import pytest
import redis

from musewave.cache import RedisCache
from musewave.resilience.retry import TransientRetry
from tests.cache.support import RedisServer, free_port, require_redis_server_binary, wait_until
from tests.conftest import LogLines

NS = "outage"
FAST_RETRY = TransientRetry(first_backoff_s=0.01, max_backoff_s=0.02, jitter_s=0.0)


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_unreachable_redis_serves_misses_and_drops_writes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = RedisCache.from_url(
        f"redis://127.0.0.1:{free_port()}/0", retry=FAST_RETRY, outage_cooldown_s=0
    )
    with caplog.at_level(logging.WARNING, logger="musewave.cache"):
        assert cache.get(NS, "k") is None
        cache.set(NS, "k", b"v")
        cache.mset(NS, {"a": b"1", "b": b"2"})
        assert cache.mget(NS, ["a", "b"]) == [None, None]
        cache.delete(NS, "k")
        assert cache.delete_pattern(NS, "*") == 0
        assert cache.get_json(NS, "k") is None
        assert cache.warm(NS, lambda: {"w": b"1"}) == 1

    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.errors) == (0, 4, 8)
    logged = warnings_in(caplog)
    assert len(logged) == 8
    assert any("get failed" in m and "ConnectionError" in m and "miss" in m for m in logged)
    assert any("set failed" in m and "dropping the write" in m for m in logged)
    cache.close()


def test_after_a_failure_redis_is_skipped_for_the_cooldown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = RedisCache.from_url(
        f"redis://127.0.0.1:{free_port()}/0", retry=FAST_RETRY, outage_cooldown_s=60
    )
    with caplog.at_level(logging.WARNING, logger="musewave.cache"):
        assert cache.get(NS, "k") is None
        started = time.perf_counter()
        for _ in range(100):
            assert cache.get(NS, "k") is None
            cache.set(NS, "k", b"v")
        elapsed_s = time.perf_counter() - started
    assert elapsed_s < 0.05
    assert len(warnings_in(caplog)) == 1
    stats = cache.stats()
    assert (stats.misses, stats.errors) == (101, 201)
    cache.close()


def test_cache_works_again_once_redis_comes_back(
    caplog: pytest.LogCaptureFixture, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = RedisServer(require_redis_server_binary(), tmp_path_factory.mktemp("late-redis"))
    cache = RedisCache.from_url(server.url, retry=FAST_RETRY, outage_cooldown_s=0.1)
    with caplog.at_level(logging.INFO, logger="musewave.cache"):
        cache.set(NS, "k", b"lost")
        assert cache.get(NS, "k") is None
        assert cache.stats().errors == 2
        server.start()
        try:

            def round_trip() -> bool:
                cache.set(NS, "k", b"v")
                return cache.get(NS, "k") == b"v"

            assert wait_until(round_trip, timeout_s=5)
        finally:
            server.stop()
    assert any("reachable again" in r.getMessage() for r in caplog.records)
    cache.close()


def test_redis_stopped_mid_test_degrades_then_recovers(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    cache = RedisCache.from_url(private_redis.url, retry=FAST_RETRY, outage_cooldown_s=0.1)
    cache.set(NS, "k", b"v")
    assert cache.get(NS, "k") == b"v"

    private_redis.stop()
    with caplog.at_level(logging.WARNING, logger="musewave.cache"):
        assert cache.get(NS, "k") is None
        cache.set(NS, "other", b"v")
    assert cache.stats().errors == 2
    # The set fell inside the cool-down after the failed get: skipped, not tried again.
    assert len(warnings_in(caplog)) == 1

    private_redis.start()

    def round_trip() -> bool:
        cache.set(NS, "k", b"again")
        return cache.get(NS, "k") == b"again"

    assert wait_until(round_trip, timeout_s=5)
    cache.close()


def test_a_transient_error_is_retried_and_succeeds(
    redis_cache: RedisCache,
    namespace: str,
    log_lines: LogLines,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redis_cache.set(namespace, "k", b"v")
    real_get = redis_cache.client.get
    failures = [redis.ConnectionError("Connection reset by peer")]

    def flaky_get(name: str) -> object:
        if failures:
            raise failures.pop()
        return real_get(name)

    monkeypatch.setattr(redis_cache.client, "get", flaky_get)
    assert redis_cache.get(namespace, "k") == b"v"
    assert redis_cache.stats().errors == 0
    [retried] = log_lines.where(operation="cache get")
    assert retried["event"] == "retrying cache get after ConnectionError"
    assert (retried["failed_attempt"], retried["attempts"]) == (1, 3)


def test_redis_restarting_during_the_backoff_is_ridden_out(
    private_redis: RedisServer, log_lines: LogLines
) -> None:
    slow_retry = TransientRetry(attempts=3, first_backoff_s=0.5, max_backoff_s=1.0, jitter_s=0.0)
    cache = RedisCache.from_url(private_redis.url, retry=slow_retry)
    cache.set(NS, "warm-up", b"v")
    private_redis.stop()
    restarter = threading.Timer(0.1, private_redis.start)
    restarter.start()
    cache.set(NS, "k", b"v")
    restarter.join()
    assert cache.get(NS, "k") == b"v"
    assert cache.stats().errors == 0
    assert log_lines.where(operation="cache set")  # the retry was logged
    cache.close()


def test_a_restart_between_calls_is_invisible(private_redis: RedisServer) -> None:
    cache = RedisCache.from_url(private_redis.url, retry=FAST_RETRY)
    cache.set(NS, "k", b"v")
    private_redis.restart()
    cache.set(NS, "k", b"v2")
    assert cache.get(NS, "k") == b"v2"
    assert cache.stats().errors == 0
    cache.close()


def test_a_refused_write_is_dropped_without_retrying(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    cache = RedisCache.from_url(private_redis.url, retry=FAST_RETRY)
    cache.set(NS, "before", b"v")
    # A full Redis under noeviction answers writes with "OOM command not allowed".
    cache.client.config_set("maxmemory", 1)
    with caplog.at_level(logging.INFO, logger="musewave.cache"):
        cache.set(NS, "k", b"v")
    assert cache.get(NS, "before") == b"v"
    assert cache.get(NS, "k") is None
    assert cache.stats().errors == 1
    messages = [r.getMessage() for r in caplog.records]
    assert not any("retrying" in m for m in messages)
    assert any("OutOfMemoryError" in m or "OOM" in m for m in messages)
    cache.close()


def test_a_persistent_transient_error_is_tried_three_times_with_growing_waits() -> None:
    policy = TransientRetry(first_backoff_s=0.05, max_backoff_s=1.0, jitter_s=0.0)
    calls: list[float] = []

    def always_down() -> None:
        calls.append(time.monotonic())
        raise redis.TimeoutError("Timeout reading from socket")

    with pytest.raises(redis.TimeoutError):
        policy.call("get", always_down)
    assert len(calls) == 3
    waits_s = [later - earlier for earlier, later in itertools.pairwise(calls)]
    assert 0.05 <= waits_s[0] < 0.5  # lower bounds are exact; upper ones allow a busy CI box
    assert 0.10 <= waits_s[1] < 0.6


def test_backoff_is_capped_and_jittered() -> None:
    policy = TransientRetry(first_backoff_s=0.1, max_backoff_s=0.5, jitter_s=0.05)
    first = [policy.backoff_s(1) for _ in range(200)]
    assert all(0.1 <= wait_s <= 0.15 for wait_s in first)
    assert len(set(first)) > 1
    assert policy.backoff_s(10) == 0.5
