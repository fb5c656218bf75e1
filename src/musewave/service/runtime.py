"""Building the queue backend from settings: the one place that wires DB, policy and queue."""

from __future__ import annotations

from sqlalchemy import Engine

from musewave.config import Settings
from musewave.db import make_engine, make_session_factory
from musewave.jobs import LocalQueue, RetryPolicy


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(delays_s=tuple(settings.retry_delays_s))


def build_queue(settings: Settings) -> tuple[LocalQueue, Engine]:
    """The local SQL queue on ``settings``' database (the caller disposes of the engine)."""
    engine = make_engine(settings.resolved_database_url)
    queue = LocalQueue(
        make_session_factory(engine),
        retry_policy(settings),
        rate_limit_per_s=settings.rate_limit_per_s,
    )
    return queue, engine
