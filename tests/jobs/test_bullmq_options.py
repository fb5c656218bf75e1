"""Unit tests of the BullMQ option builders (no Redis needed)."""

from __future__ import annotations

import inspect

import pytest

from musewave.config import Settings
from musewave.jobs.bullmq_options import (
    BACKOFF_TYPE,
    KEY_PREFIX,
    backoff_strategy,
    bullmq_priority,
    cancel_channel,
    connection_options,
    is_worker_client,
    job_options,
    queue_events_options,
    queue_options,
    rate_limiter,
    worker_client_name,
    worker_options,
)
from musewave.jobs.policy import RetryPolicy
from musewave.jobs.states import Priority


def settings(**overrides: object) -> Settings:
    return Settings.model_validate(
        {"redis_url": "redis://127.0.0.1:6390/0", "queue_name": "q-test", **overrides}
    )


def test_connection_options_read_credentials_host_port_and_database() -> None:
    options = connection_options("redis://user:p%40ss@queue.example:1/3")

    assert options["host"] == "queue.example"
    assert options["port"] == 1
    assert options["db"] == 3
    assert options["username"] == "user"
    assert options["password"] == "p@ss"  # percent-decoded
    assert "ssl" not in options


def test_connection_options_default_to_localhost_6379_database_0() -> None:
    options = connection_options("redis://")

    assert (options["host"], options["port"], options["db"]) == ("localhost", 6379, 0)
    assert options["username"] is None
    assert options["password"] is None


def test_rediss_url_turns_tls_on() -> None:
    options = connection_options("rediss://:secret@queue.example:6380")

    assert options["ssl"] is True
    assert options["password"] == "secret"
    assert options["username"] is None
    assert options["port"] == 6380


def test_blocking_reads_never_time_out_client_side() -> None:
    # redis-py 8 would cut BullMQ's blocking reads after 5 s (see test_bullmq_facts).
    assert connection_options("redis://localhost/0")["socket_timeout"] is None


@pytest.mark.parametrize("url", ["http://localhost:6379", "localhost:6379", "unix:///tmp/r.sock"])
def test_connection_options_reject_other_schemes(url: str) -> None:
    with pytest.raises(ValueError, match="redis://"):
        connection_options(url)


def test_rate_limiter_from_one_per_second_up_counts_starts_per_second() -> None:
    assert rate_limiter(10) == {"max": 10, "duration": 1000}
    assert rate_limiter(1) == {"max": 1, "duration": 1000}


@pytest.mark.parametrize("rate_per_s", [2.6, 10.6])
def test_rate_limiter_never_exceeds_the_configured_rate(rate_per_s: float) -> None:
    limiter = rate_limiter(rate_per_s)

    assert limiter["max"] / limiter["duration"] * 1000 <= rate_per_s


def test_rate_limiter_below_one_per_second_spaces_single_starts() -> None:
    assert rate_limiter(0.5) == {"max": 1, "duration": 2000}
    assert rate_limiter(0.3) == {"max": 1, "duration": 3334}  # rounded up: never faster


def test_backoff_strategy_gives_the_shared_delays_in_milliseconds() -> None:
    strategy = backoff_strategy(RetryPolicy(delays_s=(2.0, 6.0, 18.0)))

    delays = [strategy(attempts_made, BACKOFF_TYPE, None, None) for attempts_made in (1, 2, 3)]

    assert delays == [2000, 6000, 18000]
    assert not inspect.iscoroutinefunction(strategy)  # an async one leaves jobs stuck in active


def test_backoff_strategy_beyond_the_last_delay_repeats_it_and_without_delays_is_zero() -> None:
    assert backoff_strategy(RetryPolicy(delays_s=(0.3, 0.9)))(5, BACKOFF_TYPE, None, None) == 900
    assert backoff_strategy(RetryPolicy(delays_s=()))(1, BACKOFF_TYPE, None, None) == 0


def test_priorities_map_high_to_1_and_are_never_0() -> None:
    assert [bullmq_priority(p) for p in (Priority.HIGH, Priority.NORMAL, Priority.LOW)] == [1, 2, 3]


def test_job_options_carry_id_priority_attempts_custom_backoff_and_retention() -> None:
    options = job_options(
        settings(retry_delays_s=(1, 2), keep_completed_s=60, keep_completed_count=5),
        "job-1",
        Priority.LOW,
    )

    assert options["jobId"] == "job-1"
    assert options["priority"] == 3
    assert options["attempts"] == 3  # the first attempt plus one per retry delay
    assert options["backoff"] == {"type": BACKOFF_TYPE}
    assert options["removeOnComplete"] == {"age": 60, "count": 5}
    assert set(options["removeOnFail"]) == {"age", "count"}


def test_worker_options_follow_settings() -> None:
    options = worker_options(
        settings(lease_ms=5000, stalled_check_s=1.5, max_stalls=2, rate_limit_per_s=4),
        name="host:1:0",
    )

    assert options["name"] == "host:1:0"
    assert options["prefix"] == KEY_PREFIX
    assert options["concurrency"] == 1
    assert options["lockDuration"] == 5000
    assert options["stalledInterval"] == 1500
    assert options["maxStalledCount"] == 2
    assert options["limiter"] == {"max": 4, "duration": 1000}
    assert options["connection"]["port"] == 6390
    strategy = options["settings"]["backoffStrategy"]
    assert strategy(1, BACKOFF_TYPE, None, None) == 2000


def test_drain_delay_matches_the_limiter_window_in_seconds() -> None:
    # bullmq's drainDelay is in seconds; the limiter only reaches its rate when the two match.
    assert worker_options(settings(rate_limit_per_s=10), name="w")["drainDelay"] == 1
    assert worker_options(settings(rate_limit_per_s=0.25), name="w")["drainDelay"] == 4


def test_queue_and_queue_events_options_share_prefix_and_connection() -> None:
    current = settings()

    queue = queue_options(current)
    events = queue_events_options(current, "1-0")

    assert queue["prefix"] == events["prefix"] == KEY_PREFIX
    assert queue["connection"] == events["connection"]
    assert events["lastEventId"] == "1-0"
    assert events["autorun"] is False


def test_cancel_channel_is_per_queue() -> None:
    assert cancel_channel(settings(queue_name="a")) != cancel_channel(settings(queue_name="b"))
    assert cancel_channel(settings(queue_name="a")).startswith(f"{KEY_PREFIX}:a:")


def test_workers_are_named_as_node_bullmq_names_them_and_both_spellings_count() -> None:
    # Node.js BullMQ: `${prefix}:${base64(queue name)}` then `:w:${worker name}`.
    name = worker_client_name("musewave", "host-1-0")
    assert name == "bull:bXVzZXdhdmU=:w:host-1-0"
    assert is_worker_client(name, "musewave")
    assert is_worker_client("bull:musewave:w:old", "musewave")  # the Python package's
    assert is_worker_client("bull:bXVzZXdhdmU=", "musewave")  # an unnamed Node worker
    assert not is_worker_client("bull:bXVzZXdhdmU=:qe", "musewave")  # a QueueEvents reader
    assert not is_worker_client(worker_client_name("other", "w"), "musewave")
    assert not is_worker_client("", "musewave")
