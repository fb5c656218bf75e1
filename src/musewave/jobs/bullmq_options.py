"""BullMQ options, built in one typed place.

bullmq takes Node-style camelCase dicts and silently ignores keys it does not know, so every
option MuseWave sets is spelled here once, from :class:`~musewave.config.Settings`, and the
tests read these dicts back. Facts they encode (bullmq 3.4, redis-py 8):

- redis-py 8 times blocking reads out after 5 s unless ``socket_timeout=None``: an idle
  worker would then pick up jobs seconds late and miss delayed (retrying) jobs.
- The rate limiter runs at about ``max / drainDelay``: ``drainDelay`` is set to the limiter's
  duration so 10 per second means 10 per second.
- Jobs without a priority (0) run before every prioritized job: every job gets one.
- The built-in exponential backoff is ``delay × 2^(n−1)``; the shared 2 s/6 s/18 s policy is
  a custom ``backoffStrategy``, which must be a plain (sync) function.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from musewave.config import Settings
from musewave.jobs.policy import RetryPolicy
from musewave.jobs.states import Priority
from musewave.redis_connections import connection_options

JOB_NAME = "generate"
BACKOFF_TYPE = "musewave"  # names the custom strategy in every job's options
KEY_PREFIX = "bull"  # BullMQ's default, so dashboards and Node clients find the queue


def worker_client_name(queue_name: str, worker_name: str) -> str:
    """A worker's Redis client name as BullMQ for Node.js spells it: ``bull:<the queue name in
    base64>:w:<worker name>``. Node clients and dashboards find workers by it (Bull Board warns
    of a queue with no workers otherwise); the Python package spells the queue name unencoded,
    which they do not see."""
    return f"{_node_client_prefix(queue_name)}:w:{worker_name}"


def is_worker_client(client_name: str, queue_name: str) -> bool:
    """Whether a Redis client name is a worker of ``queue_name``, spelled by BullMQ for
    Node.js or by the Python package (a worker of an older release, mid-upgrade)."""
    prefixes = (_node_client_prefix(queue_name), f"{KEY_PREFIX}:{queue_name}")
    return any(client_name == p or client_name.startswith(f"{p}:w:") for p in prefixes)


def _node_client_prefix(queue_name: str) -> str:
    return f"{KEY_PREFIX}:{base64.b64encode(queue_name.encode()).decode('ascii')}"


def rate_limiter(rate_limit_per_s: float) -> dict[str, int]:
    """``{max, duration}``: at most ``max`` job starts per ``duration`` ms, queue-wide."""
    if rate_limit_per_s >= 1:
        return {"max": max(1, math.floor(rate_limit_per_s)), "duration": 1000}
    return {"max": 1, "duration": math.ceil(1000 / rate_limit_per_s)}


def backoff_strategy(policy: RetryPolicy) -> Any:
    """The shared retry delays as BullMQ's ``settings.backoffStrategy`` (milliseconds).

    The worker raises errors that carry the delay the policy chose (``retry_delay_ms``: e.g.
    longer while a circuit breaker is open); other errors get ``delays_s`` by attempt."""

    def delay_ms(attempts_made: int, _type: str | None, err: Any, _job: Any) -> int:
        decided = getattr(err, "retry_delay_ms", None)  # the worker applied the policy already
        if isinstance(decided, int):
            return decided
        if not policy.delays_s:
            return 0
        index = min(max(attempts_made, 1), len(policy.delays_s))
        return round(policy.delay_for(index) * 1000)

    return delay_ms


def bullmq_priority(priority: Priority) -> int:
    """BullMQ priority: 1 is highest; never 0 (unprioritized jobs would jump the queue)."""
    return priority.rank


def job_options(settings: Settings, job_id: str, priority: Priority) -> dict[str, Any]:
    return {
        "jobId": job_id,
        "priority": bullmq_priority(priority),
        "attempts": RetryPolicy.from_settings(settings).max_attempts,
        "backoff": {"type": BACKOFF_TYPE},
        "removeOnComplete": {
            "age": settings.keep_completed_s,
            "count": settings.keep_completed_count,
        },
        "removeOnFail": {"age": settings.keep_failed_s, "count": settings.keep_failed_count},
    }


def queue_options(settings: Settings) -> dict[str, Any]:
    assert settings.redis_url is not None
    return {"connection": connection_options(settings.redis_url), "prefix": KEY_PREFIX}


def worker_options(settings: Settings, *, name: str) -> dict[str, Any]:
    """One job at a time per worker process: rendering is CPU-bound (see ``musewave worker``)."""
    assert settings.redis_url is not None
    limiter = rate_limiter(settings.rate_limit_per_s)
    return {
        "name": name,
        "connection": connection_options(settings.redis_url),
        "prefix": KEY_PREFIX,
        "concurrency": 1,
        "lockDuration": settings.lease_ms,
        "stalledInterval": round(settings.stalled_check_s * 1000),
        "maxStalledCount": settings.max_stalls,
        "limiter": limiter,
        # After a Redis outage, look for jobs again within a second (BullMQ's default: 15 s).
        "runRetryDelay": 1000,
        "drainDelay": max(1, math.ceil(limiter["duration"] / 1000)),
        "settings": {"backoffStrategy": backoff_strategy(RetryPolicy.from_settings(settings))},
    }


def queue_events_options(settings: Settings, last_event_id: str) -> dict[str, Any]:
    assert settings.redis_url is not None
    return {
        "connection": connection_options(settings.redis_url),
        "prefix": KEY_PREFIX,
        "lastEventId": last_event_id,
        "blockingTimeout": 5000,
        "autorun": False,
    }


def cancel_channel(settings: Settings) -> str:
    """The Redis pub/sub channel on which the API tells workers to cancel an active job."""
    return f"{KEY_PREFIX}:{settings.queue_name}:musewave:cancel"
