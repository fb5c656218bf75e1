"""The retry policy, in one place. Both queue backends (local SQL and BullMQ) use this class."""

from __future__ import annotations

import math
from dataclasses import dataclass

from musewave.config import Settings
from musewave.engine.errors import Cancelled, InvalidRequest, ValidationFailed
from musewave.jobs.states import JobState
from musewave.resilience.breakers import BreakerOpen, CallTimedOut

INVALID_REQUEST = "invalid_request"
CANCELLED = "cancelled"
VALIDATION_FAILED = "validation_failed"
STALLED = "stalled"
BREAKER_OPEN = "breaker_open"
TIMED_OUT = "timed_out"
INTERNAL = "internal"

# Most specific first: the first matching type names the error kind.
_ERROR_KINDS: tuple[tuple[type[BaseException], str], ...] = (
    (InvalidRequest, INVALID_REQUEST),
    (Cancelled, CANCELLED),
    (ValidationFailed, VALIDATION_FAILED),
    (BreakerOpen, BREAKER_OPEN),
    (CallTimedOut, TIMED_OUT),
)


def error_kind_of(error: BaseException) -> str:
    """The error kind recorded for ``error`` and passed to :meth:`RetryPolicy.decide`."""
    for error_type, kind in _ERROR_KINDS:
        if isinstance(error, error_type):
            return kind
    return INTERNAL


@dataclass(frozen=True, slots=True)
class RetryDecision:
    """What happens after a failed attempt.

    ``retry`` True: the job goes back to ``queued`` and may start again ``delay_s`` seconds
    from now; ``final_state`` is None. ``retry`` False: the job ends in ``final_state``
    (``failed``, ``cancelled`` or ``dead``) and ``delay_s`` is 0.
    """

    retry: bool
    delay_s: float
    final_state: JobState | None

    @property
    def next_state(self) -> JobState:
        return JobState.QUEUED if self.final_state is None else self.final_state


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed attempt is retried, how long to wait, and where a job ends up.

    Parameters
    ----------
    delays_s
        Seconds to wait before each retry: ``delays_s[n - 1]`` follows the n-th failed
        attempt. The default ``(2, 6, 18)`` is 2 s × 3ⁿ: three retries after the first
        failure. A job therefore gets ``max_attempts = 1 + len(delays_s)`` attempts in all.
    final_error_kinds
        Error kinds that retrying cannot fix. Default ``invalid_request`` and ``cancelled``.
    breaker_open_delay_s
        The least wait after an attempt that failed fast on an open circuit breaker
        (``breaker_open``): retrying before the breaker lets a probe through would fail fast
        again and use up attempts. Default 60 s, the engine breaker's reset timeout.

    The whole policy:

    - ``cancelled`` errors end the job in state ``cancelled``; every other final kind
      ends it in ``failed``. Neither is retried, whatever attempts are left.
    - Any other kind (``internal``, ``validation_failed``, ``stalled`` when a worker stopped
      renewing its lease, ``breaker_open``, ``timed_out``, ...) is retried while attempts
      are left, after ``delay_for`` (and at least ``breaker_open_delay_s`` after
      ``breaker_open``).
    - A retryable failure of the last attempt moves the job to ``dead`` (the dead-letter
      state); an admin may re-drive it, which starts a fresh set of attempts.
    """

    delays_s: tuple[float, ...] = (2.0, 6.0, 18.0)
    final_error_kinds: frozenset[str] = frozenset({INVALID_REQUEST, CANCELLED})
    breaker_open_delay_s: float = 60.0

    def __post_init__(self) -> None:
        if any(not math.isfinite(delay) or delay < 0 for delay in self.delays_s):
            raise ValueError(f"retry delays must be finite and >= 0 seconds: {self.delays_s}")

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy every process applies: ``MUSEWAVE_RETRY_DELAYS_S``, and after an open
        engine breaker at least its reset time."""
        return cls(
            delays_s=tuple(settings.retry_delays_s),
            breaker_open_delay_s=settings.breaker_engine_reset_s,
        )

    @classmethod
    def exponential(
        cls, *, first_s: float = 2.0, factor: float = 3.0, retries: int = 3
    ) -> RetryPolicy:
        """``retries`` delays ``first_s × factorⁿ`` (n = 0, 1, ...)."""
        return cls(delays_s=tuple(first_s * factor**n for n in range(retries)))

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.delays_s)

    def delay_for(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next.

        Raises ``ValueError`` when ``attempt`` has no retry after it.
        """
        if not 1 <= attempt <= len(self.delays_s):
            raise ValueError(f"attempt {attempt} has no retry (max_attempts={self.max_attempts})")
        return self.delays_s[attempt - 1]

    def decide(self, attempt: int, error_kind: str) -> RetryDecision:
        """The outcome of failed attempt number ``attempt`` (1-based) with ``error_kind``."""
        if attempt < 1:
            raise ValueError(f"attempts are counted from 1, got {attempt}")
        if error_kind == CANCELLED:
            return RetryDecision(retry=False, delay_s=0.0, final_state=JobState.CANCELLED)
        if error_kind in self.final_error_kinds:
            return RetryDecision(retry=False, delay_s=0.0, final_state=JobState.FAILED)
        if attempt >= self.max_attempts:
            return RetryDecision(retry=False, delay_s=0.0, final_state=JobState.DEAD)
        delay_s = self.delay_for(attempt)
        if error_kind == BREAKER_OPEN:
            delay_s = max(delay_s, self.breaker_open_delay_s)
        return RetryDecision(retry=True, delay_s=delay_s, final_state=None)
