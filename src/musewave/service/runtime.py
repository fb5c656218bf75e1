"""Building the queue backend from settings: the one place that wires DB, policy and queue."""

from __future__ import annotations

from sqlalchemy import Engine

from musewave.config import Settings
from musewave.db import make_engine, make_session_factory
from musewave.jobs import LocalQueue, RetryPolicy


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        delays_s=tuple(settings.retry_delays_s),
        breaker_open_delay_s=settings.breaker_engine_reset_s,
    )


def build_queue(settings: Settings) -> tuple[LocalQueue, Engine]:
    """The queue on ``settings``' database: BullMQ-scheduled when ``redis_url`` is set (close
    it with ``close()``), else the local SQL queue. The caller disposes of the engine."""
    engine = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    if settings.redis_url:
        from musewave.jobs.bullmq_queue import BullMQQueue  # bullmq is only needed here

        return BullMQQueue(sessions, retry_policy(settings), settings), engine
    queue = LocalQueue(sessions, retry_policy(settings), rate_limit_per_s=settings.rate_limit_per_s)
    return queue, engine
