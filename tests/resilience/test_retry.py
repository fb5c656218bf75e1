"""Retries on transient dependency errors: which errors, how often, how long, what is logged,
and a real Redis that goes away and comes back while a call is being retried."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import psycopg
import pytest
import redis
import sqlalchemy.exc
from redis.backoff import NoBackoff
from redis.retry import Retry

from musewave.resilience import JOB_STATE_RETRY, REQUEST_RETRY, TransientRetry, is_transient
from tests.cache.support import RedisServer, require_redis_server_binary, wait_until
from tests.conftest import LogLines

NO_WAIT = TransientRetry(attempts=3, first_backoff_s=0.001, max_backoff_s=0.001, jitter_s=0.0)


def http_status_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/plan")
    response = httpx.Response(status, request=request)
    return httpx.HTTPStatusError(f"HTTP {status}", request=request, response=response)


def db_error(kind: type[sqlalchemy.exc.DBAPIError], invalidated: bool = False) -> Exception:
    return kind("UPDATE jobs", {}, Exception("server said no"), connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (redis.exceptions.ConnectionError("connection refused"), True),
        (redis.exceptions.TimeoutError("timed out"), True),
        (redis.exceptions.BusyLoadingError("loading the dataset"), True),
        (redis.exceptions.AuthenticationError("wrong password"), False),
        (redis.exceptions.ResponseError("WRONGTYPE"), False),
        (db_error(sqlalchemy.exc.OperationalError), True),
        (db_error(sqlalchemy.exc.DBAPIError, invalidated=True), True),
        (db_error(sqlalchemy.exc.IntegrityError), False),
        (db_error(sqlalchemy.exc.ProgrammingError), False),
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.IntegrityError("duplicate key"), False),
        (httpx.ConnectError("connection refused"), True),
        (httpx.ReadTimeout("read timed out"), True),
        (http_status_error(502), True),
        (http_status_error(503), True),
        (http_status_error(504), True),
        (http_status_error(500), False),
        (http_status_error(429), False),
        (http_status_error(404), False),
        (ValueError("bad input"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_which_errors_are_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


def flaky(errors: list[Exception], result: str = "ok") -> tuple[Callable[[], str], list[int]]:
    """A function that raises ``errors`` one per call, then returns ``result``."""
    calls: list[int] = []

    def call() -> str:
        calls.append(len(calls) + 1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return call, calls


def test_a_transient_error_is_retried_and_each_retry_is_logged(log_lines: LogLines) -> None:
    fn, calls = flaky([redis.exceptions.ConnectionError("refused"), httpx.ConnectError("reset")])
    assert NO_WAIT.call("save job state", fn) == "ok"
    assert calls == [1, 2, 3]
    retries = log_lines.where(operation="save job state")
    assert [(r["level"], r["failed_attempt"], r["attempts"]) for r in retries] == [
        ("warning", 1, 3),
        ("warning", 2, 3),
    ]
    assert retries[0]["event"] == "retrying save job state after ConnectionError"
    assert (retries[0]["error_type"], retries[0]["error"]) == ("ConnectionError", "refused")
    assert retries[1]["error_type"] == "ConnectError"


def test_a_permanent_error_is_raised_at_once(log_lines: LogLines) -> None:
    error = db_error(sqlalchemy.exc.IntegrityError)
    fn, calls = flaky([error, error])
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        NO_WAIT.call("enqueue job", fn)
    assert calls == [1]
    assert log_lines.where(operation="enqueue job") == []


def test_attempts_are_bounded_and_the_last_error_is_raised_unchanged() -> None:
    errors: list[Exception] = [redis.exceptions.TimeoutError(f"timeout {n}") for n in (1, 2, 3)]
    fn, calls = flaky(errors)
    with pytest.raises(redis.exceptions.TimeoutError, match="timeout 3"):
        NO_WAIT.call("read job", fn)
    assert calls == [1, 2, 3]


def test_backoff_doubles_with_jitter_up_to_the_cap(log_lines: LogLines) -> None:
    policy = TransientRetry(attempts=5, first_backoff_s=0.01, max_backoff_s=0.03, jitter_s=0.005)
    fn, _ = flaky([httpx.ConnectError("down")] * 4)
    policy.call("call the planner", fn)
    waits = [line["wait_s"] for line in log_lines.where(operation="call the planner")]
    assert len(waits) == 4
    assert 0.01 <= waits[0] <= 0.015
    assert 0.02 <= waits[1] <= 0.025
    assert waits[2] == waits[3] == 0.03  # 0.04 and 0.08, capped


def test_the_presets_are_bounded() -> None:
    # Worst case added latency: the sum of all waits (each at most max_backoff_s).
    for policy, most_s in ((REQUEST_RETRY, 0.5), (JOB_STATE_RETRY, 8.0)):
        assert (policy.attempts - 1) * policy.max_backoff_s <= most_s


def test_a_call_retried_while_redis_restarts_succeeds_once_it_is_back(
    tmp_path_factory: pytest.TempPathFactory, log_lines: LogLines
) -> None:
    server = RedisServer(require_redis_server_binary(), tmp_path_factory.mktemp("restarting"))
    server.start()
    client = redis.Redis(
        port=server.port,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),  # tenacity is the only retry layer under test
    )
    patient = TransientRetry(attempts=100, first_backoff_s=0.02, max_backoff_s=0.1, jitter_s=0.02)
    outcome: list[object] = []
    try:
        assert client.set("before", "1")
        server.stop()

        def write() -> None:
            try:
                outcome.append(patient.call("write to redis", client.set, "after", "2"))
            except Exception as error:  # the assertion below shows it
                outcome.append(error)

        writer = threading.Thread(target=write)
        writer.start()
        assert wait_until(lambda: len(log_lines.where(operation="write to redis")) >= 2)
        assert outcome == []  # still retrying while Redis is down
        server.start()
        writer.join(timeout=30)
        assert not writer.is_alive()
        assert outcome == [True]
        assert client.get("after") == b"2"
        retries = log_lines.where(operation="write to redis")
        assert {line["error_type"] for line in retries} == {"ConnectionError"}
    finally:
        client.close()
        server.stop()
