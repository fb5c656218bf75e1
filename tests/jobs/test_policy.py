from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from musewave.engine.errors import Cancelled, EngineError, InvalidRequest, ValidationFailed
from musewave.jobs import JobState, Priority, RetryPolicy, error_kind_of

RETRYABLE_KINDS = st.sampled_from(["internal", "validation_failed", "stalled", "timeout"])
DELAYS = st.lists(st.floats(min_value=0, max_value=3600), max_size=6).map(tuple)


def test_default_policy_waits_2_6_18_seconds_then_gives_up() -> None:
    policy = RetryPolicy()

    assert policy.delays_s == (2.0, 6.0, 18.0)
    assert policy.max_attempts == 4
    assert [policy.delay_for(n) for n in (1, 2, 3)] == [2.0, 6.0, 18.0]
    assert RetryPolicy.exponential() == policy


def test_delay_for_rejects_attempts_without_a_retry() -> None:
    policy = RetryPolicy()
    for attempt in (0, 4, 5):
        with pytest.raises(ValueError):
            policy.delay_for(attempt)


def test_retryable_failures_retry_then_go_dead() -> None:
    policy = RetryPolicy()

    decisions = [policy.decide(attempt, "internal") for attempt in (1, 2, 3, 4)]

    assert [(d.retry, d.delay_s, d.next_state) for d in decisions] == [
        (True, 2.0, JobState.QUEUED),
        (True, 6.0, JobState.QUEUED),
        (True, 18.0, JobState.QUEUED),
        (False, 0.0, JobState.DEAD),
    ]
    assert decisions[0].final_state is None


def test_invalid_request_fails_at_once_and_cancelled_ends_cancelled() -> None:
    policy = RetryPolicy()

    invalid = policy.decide(1, "invalid_request")
    cancelled = policy.decide(1, "cancelled")

    assert (invalid.retry, invalid.final_state) == (False, JobState.FAILED)
    assert (cancelled.retry, cancelled.final_state) == (False, JobState.CANCELLED)


def test_final_error_kinds_are_configurable() -> None:
    policy = RetryPolicy(final_error_kinds=frozenset({"invalid_request", "cancelled", "quota"}))

    assert policy.decide(1, "quota").final_state == JobState.FAILED


def test_policy_without_delays_allows_one_attempt() -> None:
    policy = RetryPolicy(delays_s=())

    assert policy.max_attempts == 1
    assert policy.decide(1, "internal").final_state == JobState.DEAD


def test_policy_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(delays_s=(2.0, -1.0))
    with pytest.raises(ValueError):
        RetryPolicy(delays_s=(float("inf"),))
    with pytest.raises(ValueError):
        RetryPolicy().decide(0, "internal")


def test_policy_is_immutable() -> None:
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.delays_s = (1.0,)  # type: ignore[misc]


@given(delays=DELAYS, kind=RETRYABLE_KINDS)
def test_retryable_kinds_follow_the_delays_exactly(delays: tuple[float, ...], kind: str) -> None:
    policy = RetryPolicy(delays_s=delays)

    for attempt in range(1, policy.max_attempts + 3):
        decision = policy.decide(attempt, kind)
        if attempt < policy.max_attempts:
            assert decision.retry
            assert decision.delay_s == delays[attempt - 1]
        else:
            assert not decision.retry
            assert decision.final_state == JobState.DEAD


@given(delays=DELAYS, attempt=st.integers(min_value=1, max_value=10))
def test_final_kinds_are_never_retried(delays: tuple[float, ...], attempt: int) -> None:
    policy = RetryPolicy(delays_s=delays)

    for kind in ("invalid_request", "cancelled"):
        assert not policy.decide(attempt, kind).retry


def test_error_kinds_come_from_engine_error_types() -> None:
    assert error_kind_of(InvalidRequest("bad")) == "invalid_request"
    assert error_kind_of(Cancelled()) == "cancelled"
    assert error_kind_of(ValidationFailed("silent")) == "validation_failed"
    assert error_kind_of(EngineError("other")) == "internal"
    assert error_kind_of(RuntimeError("boom")) == "internal"


def test_priorities_rank_high_before_normal_before_low() -> None:
    assert [p.rank for p in (Priority.HIGH, Priority.NORMAL, Priority.LOW)] == [1, 2, 3]
    assert all(Priority.from_rank(p.rank) is p for p in Priority)
    with pytest.raises(ValueError):
        Priority.from_rank(7)
