"""Circuit breakers around the engine, the media encoder and an LLM planner (pybreaker).

Every breaker works the same way:

- **closed**: calls run. ``fail_max`` failures in a row open it.
- **open**: calls fail fast with :class:`BreakerOpen`, a retryable error, without running.
  After ``reset_timeout_s`` the next call is let through as a probe (**half-open**).
- **half-open**: a successful probe closes the breaker; a failed one opens it again for
  another ``reset_timeout_s``.

Errors that say nothing about the dependency's health (a cancel, an invalid request, another
breaker being open) do not count as failures; pybreaker counts them as successes.

Call timeouts: a guarded call runs synchronously on the caller's thread and Python cannot
stop it from outside. So a call that returns after more than ``call_timeout_s`` counts as a
failure (its result is still returned: a finished render is worth keeping), and
:meth:`Breaker.raise_if_overdue` lets a call that checks in between steps stop itself (the
engine's cancellation checks do this, see ``JobRunner``). A call that hangs inside one step
is not bounded here: its worker keeps renewing the job's lease while it lives.

State: with Redis configured (``Settings.redis_url``) every process shares each breaker's
state through :class:`~musewave.resilience.breaker_state.RedisBreakerState`. Without it
(embedded mode) each process keeps its own, in memory: each local worker process then opens
its engine breaker on its own failures, and the API's ``/health`` shows its own copies.

Metrics: state changes and failures go to ``musewave.observability.metrics``
(``set_breaker_open``, ``count_breaker_failure``) from one listener, :class:`_Report`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import pybreaker
import redis

from musewave.config import Settings
from musewave.observability import metrics
from musewave.observability.logging import get_logger
from musewave.redis_connections import fail_fast_client
from musewave.resilience.breaker_state import RedisBreakerState

T = TypeVar("T")

ENGINE = "engine"
ENCODER = "encoder"
LLM = "llm"

CLOSED = pybreaker.STATE_CLOSED
OPEN = pybreaker.STATE_OPEN
HALF_OPEN = pybreaker.STATE_HALF_OPEN

REDIS_TIMEOUT_S = 1.0  # a breaker must not hang its caller on a slow Redis

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """``call_timeout_s``: a slower call counts as a failure. ``fail_max``: failures in a
    row that open the breaker. ``reset_timeout_s``: how long it stays open before a probe."""

    call_timeout_s: float
    fail_max: int
    reset_timeout_s: float

    def __post_init__(self) -> None:
        if self.call_timeout_s <= 0 or self.reset_timeout_s <= 0 or self.fail_max < 1:
            raise ValueError(f"bad breaker config: {self}")


DEFAULT_CONFIGS: Mapping[str, BreakerConfig] = {
    ENGINE: BreakerConfig(call_timeout_s=300.0, fail_max=5, reset_timeout_s=60.0),
    ENCODER: BreakerConfig(call_timeout_s=180.0, fail_max=5, reset_timeout_s=30.0),
    LLM: BreakerConfig(call_timeout_s=30.0, fail_max=3, reset_timeout_s=60.0),
}


class BreakerOpen(RuntimeError):
    """The breaker ``name`` is open: the call was not made. Retry after ``retry_after_s``."""

    def __init__(self, name: str, retry_after_s: float) -> None:
        super().__init__(f"circuit breaker {name!r} is open; retry in {retry_after_s:.1f} s")
        self.name = name
        self.retry_after_s = retry_after_s


class CallTimedOut(RuntimeError):
    """A guarded call ran past its breaker's ``call_timeout_s`` and stopped itself."""


class _SlowCall(Exception):
    """A call finished, but too late: counted as a failure, its result still returned."""

    def __init__(self, result: object, elapsed_s: float) -> None:
        super().__init__(f"call took {elapsed_s:.1f} s")
        self.result = result


ErrorTypes = tuple[type[BaseException], ...]


class _Report(pybreaker.CircuitBreakerListener):
    """Exports state changes and failures as metrics and log lines: the one place for both."""

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        name = cb.name or "?"
        metrics.set_breaker_open(name, new_state.name == OPEN)
        old = old_state.name if old_state else None
        level = log.warning if new_state.name == OPEN else log.info
        level(f"circuit breaker {name} {new_state.name}", breaker=name, previous=old)

    def failure(self, cb: pybreaker.CircuitBreaker, exc: BaseException) -> None:
        metrics.count_breaker_failure(cb.name or "?")


class Breaker:
    """One named circuit breaker; guard a call with :meth:`call`."""

    def __init__(
        self,
        name: str,
        config: BreakerConfig,
        *,
        storage: pybreaker.CircuitBreakerStorage | None = None,
        not_failures: ErrorTypes = (),
    ) -> None:
        self.name = name
        self.config = config
        self._storage = storage or pybreaker.CircuitMemoryStorage(CLOSED)
        # An open breaker further down says nothing about this one's dependency.
        excluded: ErrorTypes = (BreakerOpen, *not_failures)
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=config.fail_max,
            reset_timeout=config.reset_timeout_s,
            exclude=excluded,
            listeners=[_Report()],
            state_storage=self._storage,
            name=name,
            # The call that trips the breaker raises its own error, which says what broke.
            throw_new_error_on_trip=False,
        )
        # The gauge exists from the start, not from the first change.
        metrics.set_breaker_open(name, self._storage.state == OPEN)

    def call(self, fn: Callable[[], T], *, timeout_s: float | None = None) -> T:
        """``fn()`` through the breaker. Raises :class:`BreakerOpen` when open, else whatever
        ``fn`` raises (which counts as a failure unless it is one of ``not_failures``).
        ``timeout_s``: this call's own time limit (default ``call_timeout_s``), for a call
        known to ask for more work than most."""
        timeout_s = self.config.call_timeout_s if timeout_s is None else timeout_s

        def attempt() -> Iterator[T]:
            started_s = time.monotonic()
            result = fn()
            elapsed_s = time.monotonic() - started_s
            if elapsed_s > timeout_s:
                raise _SlowCall(result, elapsed_s)
            yield result

        # pybreaker holds its lock for the whole of call(fn); for a generator it only admits
        # the call under the lock and records the outcome when the generator finishes. So
        # long calls on several threads (parallel encodes, a threaded worker) do not queue.
        try:
            steps = self._breaker.call(attempt)
        except pybreaker.CircuitBreakerError as error:
            raise BreakerOpen(self.name, self.retry_after_s()) from error
        try:
            result = next(steps)
        except _SlowCall as slow:
            log.warning(
                f"circuit breaker {self.name}: slow call counted as a failure",
                breaker=self.name,
                detail=str(slow),
                call_timeout_s=timeout_s,
            )
            return slow.result  # type: ignore[return-value]  # the T that fn returned
        next(steps, None)  # finish the generator: pybreaker records the success
        return result

    def raise_if_overdue(self, started_s: float, *, timeout_s: float | None = None) -> None:
        """Raise :class:`CallTimedOut` when a call that started at ``started_s``
        (``time.monotonic()``) has run past ``timeout_s`` (default ``call_timeout_s``)."""
        timeout_s = self.config.call_timeout_s if timeout_s is None else timeout_s
        elapsed_s = time.monotonic() - started_s
        if elapsed_s > timeout_s:
            raise CallTimedOut(
                f"{self.name} call ran {elapsed_s:.1f} s, over its {timeout_s:g} s timeout"
            )

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``; an open breaker whose reset timeout has
        passed reads ``half-open``: its next call is the probe."""
        state = self._storage.state
        if state == OPEN and self.retry_after_s() == 0:
            return HALF_OPEN
        return state

    @property
    def failures(self) -> int:
        """Failures in a row so far (reset by a success)."""
        return self._storage.counter

    def retry_after_s(self) -> float:
        """Seconds until an open breaker lets a probe through; 0 when it is not open."""
        if self._storage.state != OPEN:
            return 0.0
        opened_at = self._storage.opened_at
        if opened_at is None:
            return 0.0
        elapsed_s = (datetime.now(UTC) - opened_at).total_seconds()
        return max(0.0, self.config.reset_timeout_s - elapsed_s)

    def snapshot(self) -> dict[str, Any]:
        """What ``/health`` shows for this breaker."""
        return {
            "state": self.state,
            "failures": self.failures,
            "retry_after_s": round(self.retry_after_s(), 1),
            "fail_max": self.config.fail_max,
            "reset_timeout_s": self.config.reset_timeout_s,
            "call_timeout_s": self.config.call_timeout_s,
        }


@dataclass(frozen=True)
class Breakers:
    """The breakers one process uses. ``shared``: their state lives in Redis.

    ``llm`` guards every language-model call (``musewave.planning``: the planner in workers,
    the suggestions in the API), which falls back to the rules on any error,
    :class:`BreakerOpen` included, so an LLM outage never fails a job or a request.
    """

    engine: Breaker
    encoder: Breaker
    llm: Breaker
    shared: bool = False
    client: redis.Redis | None = None

    @classmethod
    def create(
        cls,
        configs: Mapping[str, BreakerConfig] | None = None,
        *,
        client: redis.Redis | None = None,
        not_failures: ErrorTypes = (),
    ) -> Breakers:
        """Breakers with ``configs`` (default :data:`DEFAULT_CONFIGS`), their state in the
        Redis that ``client`` talks to, or in this process's memory when it is None.
        ``not_failures``: error types that say nothing about the guarded dependency (the
        caller's own cancellations and invalid input)."""
        configs = {**DEFAULT_CONFIGS, **(configs or {})}

        def make(name: str) -> Breaker:
            storage = RedisBreakerState(client, name) if client is not None else None
            return Breaker(name, configs[name], storage=storage, not_failures=not_failures)

        return cls(
            make(ENGINE),
            make(ENCODER),
            make(LLM),
            shared=client is not None,
            client=client,
        )

    @classmethod
    def from_settings(cls, settings: Settings, *, not_failures: ErrorTypes = ()) -> Breakers:
        """Breakers configured by ``settings``, shared through ``settings.redis_url`` if set."""
        configs = {
            ENGINE: BreakerConfig(
                settings.breaker_engine_timeout_s,
                settings.breaker_engine_failures,
                settings.breaker_engine_reset_s,
            ),
            ENCODER: BreakerConfig(
                settings.breaker_encoder_timeout_s,
                settings.breaker_encoder_failures,
                settings.breaker_encoder_reset_s,
            ),
            LLM: BreakerConfig(
                settings.breaker_llm_timeout_s,
                settings.breaker_llm_failures,
                settings.breaker_llm_reset_s,
            ),
        }
        client = None
        if settings.redis_url:
            # An outage falls back to "closed" at once.
            client = fail_fast_client(settings.redis_url, timeout_s=REDIS_TIMEOUT_S)
        return cls.create(configs, client=client, not_failures=not_failures)

    def __iter__(self) -> Iterator[Breaker]:
        return iter((self.engine, self.encoder, self.llm))

    def snapshot(self) -> dict[str, Any]:
        """Every breaker's state, for ``/health``."""
        return {
            "ok": True,  # informational: an open breaker slows jobs down, it does not stop them
            "shared": self.shared,
            "breakers": {breaker.name: breaker.snapshot() for breaker in self},
        }

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
