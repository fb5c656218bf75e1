"""Breaker state shared through a real Redis: across instances, across processes, and what
happens when that Redis is down."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from musewave.config import Settings
from musewave.resilience import Breaker, BreakerConfig, BreakerOpen, Breakers
from musewave.resilience.breaker_state import RedisBreakerState
from tests.cache.support import free_port, wait_until
from tests.conftest import LogLines

RESET_S = 0.3
FAST = BreakerConfig(call_timeout_s=5.0, fail_max=2, reset_timeout_s=RESET_S)

# Another process trips breaker argv[2] on the Redis at argv[1], then exits.
TRIP_IN_ANOTHER_PROCESS = """
import sys, redis
from musewave.resilience import Breaker, BreakerConfig
from musewave.resilience.breaker_state import RedisBreakerState

url, name = sys.argv[1], sys.argv[2]
storage = RedisBreakerState(redis.Redis.from_url(url), name)
breaker = Breaker(name, BreakerConfig(5, 2, 60), storage=storage)

def down():
    raise ConnectionRefusedError("encoder host down")

for _ in range(2):
    try:
        breaker.call(down)
    except ConnectionRefusedError:
        pass
print(breaker.state)
"""


def unique_name() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def on_redis(client: redis.Redis, name: str, config: BreakerConfig = FAST) -> Breaker:
    return Breaker(name, config, storage=RedisBreakerState(client, name))


def fail() -> None:
    raise TimeoutError("dependency timed out")


def test_breakers_with_separate_memory_share_one_state_through_redis(
    redis_url: str, redis_client: redis.Redis
) -> None:
    name = unique_name()
    here = on_redis(redis_client, name)
    # The other side reads str replies: pybreaker's own Redis storage breaks on those.
    other_client = redis.Redis.from_url(redis_url, decode_responses=True)
    there = on_redis(other_client, name)

    with pytest.raises(TimeoutError):
        here.call(fail)
    assert there.failures == 1  # counted once, seen by both
    with pytest.raises(TimeoutError):
        there.call(fail)
    assert here.state == there.state == "open"
    # Opening time kept to the millisecond: the reset timeout is not rounded to whole seconds.
    assert RESET_S / 2 < there.retry_after_s() <= RESET_S

    calls: list[str] = []
    with pytest.raises(BreakerOpen):
        there.call(lambda: calls.append("ran"))
    assert calls == []

    assert wait_until(lambda: there.state == "half-open", timeout_s=RESET_S + 2)
    assert there.call(lambda: "probe ok") == "probe ok"
    assert here.state == "closed" and here.failures == 0
    other_client.close()


def test_a_breaker_opened_by_another_process_fails_fast_here(
    redis_url: str, redis_client: redis.Redis
) -> None:
    name = unique_name()
    child = subprocess.run(
        [sys.executable, "-c", TRIP_IN_ANOTHER_PROCESS, redis_url, name],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert child.stdout.splitlines()[-1] == "open"  # after its own log line

    here = on_redis(redis_client, name, BreakerConfig(5, 2, 60))
    calls: list[str] = []
    with pytest.raises(BreakerOpen) as raised:
        here.call(lambda: calls.append("ran"))
    assert calls == []
    assert 50 < raised.value.retry_after_s <= 60


def test_breakers_from_settings_share_state_when_redis_is_configured(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = Settings(redis_url=redis_url, breaker_encoder_failures=1)
    first, second = Breakers.from_settings(settings), Breakers.from_settings(settings)
    try:
        assert first.shared and second.shared
        with pytest.raises(TimeoutError):
            first.encoder.call(fail)
        assert second.snapshot()["breakers"]["encoder"]["state"] == "open"
        assert second.engine.state == "closed"
    finally:
        redis_client.delete("musewave:breaker:encoder")
        first.close()
        second.close()


def test_with_redis_down_calls_still_run_and_one_warning_is_logged(
    log_lines: LogLines,
) -> None:
    # As Breakers.from_settings makes it: short timeouts, no retries inside redis-py (whose
    # default of 10 would stall every breaker call for seconds).
    dead = redis.Redis(
        port=free_port(),
        socket_connect_timeout=0.2,
        socket_timeout=0.2,
        retry=Retry(NoBackoff(), 0),
    )
    breaker = on_redis(dead, unique_name())

    assert breaker.call(lambda: "rendered anyway") == "rendered anyway"
    with pytest.raises(TimeoutError):
        breaker.call(fail)
    assert breaker.state == "closed"  # the fallback: a lost breaker must not stop the work
    warnings = log_lines.where(level="warning", key=f"musewave:breaker:{breaker.name}")
    assert len(warnings) == 1
    assert "ConnectionError" in warnings[0]["error"]
