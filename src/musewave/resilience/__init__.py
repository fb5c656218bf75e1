"""Failing gracefully: circuit breakers around dependencies, retries on transient errors."""

from musewave.resilience.breakers import (
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
from musewave.resilience.retry import (
    JOB_STATE_RETRY,
    REQUEST_RETRY,
    TransientRetry,
    is_transient,
)

__all__ = [
    "DEFAULT_CONFIGS",
    "ENCODER",
    "ENGINE",
    "JOB_STATE_RETRY",
    "LLM",
    "REQUEST_RETRY",
    "Breaker",
    "BreakerConfig",
    "BreakerOpen",
    "Breakers",
    "CallTimedOut",
    "TransientRetry",
    "is_transient",
]
