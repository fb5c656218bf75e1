"""Circuit breakers in one process: open after N failures, fail fast, half-open, close, re-open."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from prometheus_client import REGISTRY

from musewave.config import Settings
from musewave.engine.errors import Cancelled, InvalidRequest
from musewave.jobs.policy import BREAKER_OPEN, TIMED_OUT, RetryPolicy, error_kind_of
from musewave.jobs.states import JobState
from musewave.resilience import (
    DEFAULT_CONFIGS,
    ENCODER,
    ENGINE,
    LLM,
    Breaker,
    BreakerConfig,
    BreakerOpen,
    Breakers,
    CallTimedOut,
)
from tests.cache.support import wait_until
from tests.conftest import LogLines

RESET_S = 0.2
FAST = BreakerConfig(call_timeout_s=5.0, fail_max=3, reset_timeout_s=RESET_S)


class DependencyDown(RuntimeError):
    pass


class Dependency:
    """A stand-in for the engine: counts calls, fails while ``down``."""

    def __init__(self) -> None:
        self.calls = 0
        self.down = True

    def __call__(self) -> str:
        self.calls += 1
        if self.down:
            raise DependencyDown("no answer")
        return "rendered"


def new_breaker(config: BreakerConfig = FAST) -> Breaker:
    return Breaker(f"test-{uuid.uuid4().hex[:8]}", config)


def trip(breaker: Breaker, dependency: Dependency) -> None:
    for _ in range(breaker.config.fail_max):
        with pytest.raises(DependencyDown):  # the tripping call raises its own error
            breaker.call(dependency)


def metric(name: str, breaker: Breaker) -> float | None:
    return REGISTRY.get_sample_value(name, {"breaker": breaker.name})


def test_opens_after_fail_max_consecutive_failures() -> None:
    breaker, dependency = new_breaker(), Dependency()
    for failures in (1, 2):
        with pytest.raises(DependencyDown):
            breaker.call(dependency)
        assert (breaker.state, breaker.failures) == ("closed", failures)
    with pytest.raises(DependencyDown):
        breaker.call(dependency)
    assert breaker.state == "open"
    assert 0 < breaker.retry_after_s() <= RESET_S


def test_a_success_resets_the_failure_count() -> None:
    breaker, dependency = new_breaker(), Dependency()
    for _ in range(2):
        with pytest.raises(DependencyDown):
            breaker.call(dependency)
    dependency.down = False
    assert breaker.call(dependency) == "rendered"
    assert breaker.failures == 0
    dependency.down = True
    for _ in range(2):
        with pytest.raises(DependencyDown):
            breaker.call(dependency)
    assert breaker.state == "closed"


def test_an_open_breaker_fails_fast_without_calling_and_the_error_is_retryable() -> None:
    breaker, dependency = new_breaker(), Dependency()
    trip(breaker, dependency)
    calls = dependency.calls
    dependency.down = False  # recovered, but the breaker does not know yet

    with pytest.raises(BreakerOpen) as raised:
        breaker.call(dependency)
    assert dependency.calls == calls
    assert raised.value.name == breaker.name
    assert 0 < raised.value.retry_after_s <= RESET_S

    # The queue's policy retries it, and not before the breaker lets a probe through.
    assert error_kind_of(raised.value) == BREAKER_OPEN
    decision = RetryPolicy(delays_s=(2.0, 6.0), breaker_open_delay_s=60.0).decide(1, BREAKER_OPEN)
    assert (decision.retry, decision.delay_s, decision.next_state) == (True, 60.0, JobState.QUEUED)
    last = RetryPolicy(delays_s=(2.0,)).decide(2, BREAKER_OPEN)
    assert (last.retry, last.next_state) == (False, JobState.DEAD)


def test_half_opens_after_the_reset_timeout_and_a_successful_probe_closes_it() -> None:
    breaker, dependency = new_breaker(), Dependency()
    trip(breaker, dependency)
    assert wait_until(lambda: breaker.state == "half-open", timeout_s=RESET_S + 2)
    assert breaker.retry_after_s() == 0

    dependency.down = False
    calls = dependency.calls
    assert breaker.call(dependency) == "rendered"  # the probe runs
    assert dependency.calls == calls + 1
    assert (breaker.state, breaker.failures) == ("closed", 0)
    assert breaker.call(dependency) == "rendered"


def test_a_failed_probe_opens_it_again_for_another_reset_timeout() -> None:
    breaker, dependency = new_breaker(), Dependency()
    trip(breaker, dependency)
    assert wait_until(lambda: breaker.state == "half-open", timeout_s=RESET_S + 2)

    with pytest.raises(DependencyDown):  # one failed probe is enough
        breaker.call(dependency)
    assert breaker.state == "open"
    assert RESET_S / 2 < breaker.retry_after_s() <= RESET_S
    with pytest.raises(BreakerOpen):
        breaker.call(dependency)


def test_errors_that_say_nothing_about_the_dependency_do_not_open_it() -> None:
    breaker = new_breaker()
    for error in (Cancelled("stop"), InvalidRequest("bad"), BreakerOpen("encoder", 1.0)) * 2:

        def raise_it(error: Exception = error) -> None:
            raise error

        with pytest.raises(type(error)):
            breaker.call(raise_it)
    assert (breaker.state, breaker.failures) == ("closed", 0)


def test_a_call_slower_than_the_timeout_keeps_its_result_but_counts_as_a_failure(
    log_lines: LogLines,
) -> None:
    breaker = new_breaker(BreakerConfig(call_timeout_s=0.01, fail_max=2, reset_timeout_s=60))

    def slow_render() -> str:
        time.sleep(0.03)  # the dependency's own work, slower than the breaker's timeout
        return "late but fine"

    assert breaker.call(slow_render) == "late but fine"
    assert breaker.failures == 1
    assert breaker.call(slow_render) == "late but fine"
    assert breaker.state == "open"
    [first, *_] = log_lines.where(breaker=breaker.name, call_timeout_s=0.01)
    assert "slow call counted as a failure" in first["event"]


def test_a_call_given_more_time_is_not_slow_within_it() -> None:
    breaker = new_breaker(BreakerConfig(call_timeout_s=0.01, fail_max=1, reset_timeout_s=60))

    def render_with_videos() -> str:
        started = time.monotonic()
        time.sleep(0.03)  # longer than the breaker's own timeout, shorter than this call's
        breaker.raise_if_overdue(started, timeout_s=60)
        return "done"

    assert breaker.call(render_with_videos, timeout_s=60) == "done"
    assert (breaker.state, breaker.failures) == ("closed", 0)
    with pytest.raises(CallTimedOut, match=r"over its 0\.01 s timeout"):
        breaker.raise_if_overdue(time.monotonic() - 0.03)


def test_an_overdue_call_can_stop_itself_at_a_checkpoint() -> None:
    breaker = new_breaker(BreakerConfig(call_timeout_s=0.05, fail_max=1, reset_timeout_s=60))

    def render_with_checkpoints() -> str:
        started = time.monotonic()
        while True:  # like the engine, which checks in between stages
            breaker.raise_if_overdue(started)
            time.sleep(0.005)

    with pytest.raises(CallTimedOut) as raised:
        breaker.call(render_with_checkpoints)
    assert breaker.state == "open"
    assert error_kind_of(raised.value) == TIMED_OUT
    assert RetryPolicy().decide(1, TIMED_OUT).retry


def test_calls_on_several_threads_run_at_the_same_time() -> None:
    # pybreaker locks around a plain call; two parallel encodes must not queue behind it.
    breaker = new_breaker()
    both_inside = threading.Barrier(2, timeout=5)
    results: list[object] = []

    def meet() -> int:
        return both_inside.wait()

    threads = [
        threading.Thread(target=lambda: results.append(breaker.call(meet))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(results) == [0, 1]  # a broken barrier would have raised in a thread
    assert breaker.failures == 0


def test_state_and_failures_are_exported_as_metrics(log_lines: LogLines) -> None:
    breaker, dependency = new_breaker(), Dependency()
    assert metric("musewave_circuit_breaker_open", breaker) == 0.0
    trip(breaker, dependency)
    assert metric("musewave_circuit_breaker_open", breaker) == 1.0
    assert metric("musewave_circuit_breaker_failures_total", breaker) == 3.0
    [opened] = log_lines.where(breaker=breaker.name, level="warning", previous="closed")
    assert opened["event"] == f"circuit breaker {breaker.name} open"

    assert wait_until(lambda: breaker.state == "half-open", timeout_s=RESET_S + 2)
    dependency.down = False
    breaker.call(dependency)
    assert metric("musewave_circuit_breaker_open", breaker) == 0.0
    assert metric("musewave_circuit_breaker_failures_total", breaker) == 3.0


def test_defaults_are_the_documented_timeouts_and_thresholds() -> None:
    assert DEFAULT_CONFIGS[ENGINE] == BreakerConfig(300.0, 5, 60.0)
    assert DEFAULT_CONFIGS[ENCODER] == BreakerConfig(180.0, 5, 30.0)
    assert DEFAULT_CONFIGS[LLM] == BreakerConfig(30.0, 3, 60.0)
    breakers = Breakers.from_settings(Settings())
    assert not breakers.shared
    assert [b.config for b in breakers] == [DEFAULT_CONFIGS[n] for n in (ENGINE, ENCODER, LLM)]


def test_settings_override_each_breaker() -> None:
    settings = Settings(
        breaker_engine_timeout_s=1, breaker_engine_failures=2, breaker_engine_reset_s=0.5
    )
    breakers = Breakers.from_settings(settings)
    assert breakers.engine.config == BreakerConfig(1.0, 2, 0.5)
    assert breakers.encoder.config == DEFAULT_CONFIGS[ENCODER]
    snapshot = breakers.snapshot()
    assert snapshot["shared"] is False
    assert snapshot["breakers"]["engine"] == {
        "state": "closed",
        "failures": 0,
        "retry_after_s": 0.0,
        "fail_max": 2,
        "reset_timeout_s": 0.5,
        "call_timeout_s": 1.0,
    }
