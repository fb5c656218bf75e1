"""Retrying calls to Redis, the database or an HTTP service when they fail transiently.

A transient error is one the same call may well not hit a moment later: a dropped, refused or
timed-out connection, a database connection the driver invalidated, a gateway answering
502/503/504. Everything else (a constraint violation, a bad reply, a 4xx) is raised at once:
retrying cannot fix it and would only delay the error.

Retrying a write whose reply was lost can apply it twice. The queue's writes are guarded by
the job's state and lease (a repeated ``complete`` finds the job no longer active and returns
False), and enqueueing is idempotent only with an ``Idempotency-Key``; the window is the few
milliseconds between a commit and its reply.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import httpx
import psycopg
import redis
import sqlalchemy.exc
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from musewave.observability.logging import get_logger

P = ParamSpec("P")
T = TypeVar("T")

TRANSIENT_HTTP_STATUSES = frozenset({502, 503, 504})

log = get_logger(__name__)


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is worth retrying: see the module docstring."""
    if isinstance(error, redis.exceptions.AuthenticationError):
        return False  # a ConnectionError subclass, but a wrong password stays wrong
    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return True
    if isinstance(error, sqlalchemy.exc.DBAPIError):
        # OperationalError: the server went away, a lock timed out, SQLite was busy.
        return error.connection_invalidated or isinstance(error, sqlalchemy.exc.OperationalError)
    if isinstance(error, psycopg.OperationalError):
        return True
    if isinstance(error, httpx.TransportError):
        return True
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code in TRANSIENT_HTTP_STATUSES
    return False


@dataclass(frozen=True, slots=True)
class TransientRetry:
    """Call a function, retrying transient errors with exponential backoff and jitter.

    ``attempts``: tries in total, the first included. The wait after the n-th failure is
    ``first_backoff_s × 2^(n−1)`` plus a uniform random ``0..jitter_s`` (so processes that
    failed together do not retry together), capped at ``max_backoff_s``. Each retry logs a
    warning naming the operation and the error; the last error is re-raised unchanged.
    """

    attempts: int = 3
    first_backoff_s: float = 0.1
    max_backoff_s: float = 2.0
    jitter_s: float = 0.1

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def backoff_s(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failures in a row (1 = the first)."""
        exponential_s = self.first_backoff_s * 2.0 ** (failures - 1)
        return min(exponential_s + random.uniform(0, self.jitter_s), self.max_backoff_s)

    def call(self, operation: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)``; ``operation`` names it in the log, e.g. ``"enqueue job"``.

        The first try runs outside tenacity, whose bookkeeping (~20 µs) would cost a fifth of
        a cache hit: nearly every call succeeds at once."""
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            if self.attempts == 1 or not is_transient(error):
                raise
            first_error = error

        def log_retry(failures: int, error: BaseException | None, wait_s: float) -> None:
            log.warning(
                f"retrying {operation} after {type(error).__name__}",
                operation=operation,
                error=str(error),
                error_type=type(error).__name__,
                failed_attempt=failures,
                attempts=self.attempts,
                wait_s=round(wait_s, 3),
            )

        first_wait_s = self.backoff_s(1)
        log_retry(1, first_error, first_wait_s)
        time.sleep(first_wait_s)

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait_s = state.next_action.sleep if state.next_action else 0.0
            log_retry(state.attempt_number + 1, error, wait_s)

        # Tries 2..n: tenacity counts from 1 again, hence the +1 on its attempt numbers.
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts - 1),
            wait=lambda state: self.backoff_s(state.attempt_number + 1),
            retry=retry_if_exception(is_transient),
            before_sleep=before_sleep,
            reraise=True,
        )
        result: T = retrying(fn, *args, **kwargs)
        return result


# An HTTP request waits at most ~0.3 s more before its error is answered.
REQUEST_RETRY = TransientRetry(attempts=3, first_backoff_s=0.05, max_backoff_s=0.2, jitter_s=0.05)
# A cache call degrades to a miss soon: ~0.15 s at most before the fallback.
CACHE_RETRY = TransientRetry(attempts=3, first_backoff_s=0.05, max_backoff_s=1.0, jitter_s=0.05)
# A job's state update is worth more patience: losing it costs a whole render (~4 s in all).
JOB_STATE_RETRY = TransientRetry(attempts=5, first_backoff_s=0.2, max_backoff_s=2.0, jitter_s=0.2)
