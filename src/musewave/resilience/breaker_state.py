"""Circuit breaker state in Redis, so every process that names a breaker sees one state.

pybreaker ships ``CircuitRedisStorage``; this replaces it because, with redis-py 8, it breaks
on a client made with ``decode_responses=True`` (it calls ``bytes.decode`` on the reply),
raises from its constructor when Redis is down, and stores the opening time in whole seconds
(a reset timeout then ends up to a second early). Here:

- one hash per breaker, ``musewave:breaker:<name>``, fields ``state``, ``failures``,
  ``successes`` and ``opened_at_ms`` (Unix time in ms: processes on different machines
  compare it with their own clocks, so those must be in sync to well under the reset time);
- either kind of client works;
- a Redis outage never fails the guarded call: reads fall back to "closed, no failures",
  writes are dropped, and one warning is logged per outage.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pybreaker
import redis

from musewave.observability.logging import get_logger

KEY_PREFIX = "musewave:breaker:"

log = get_logger(__name__)


class RedisBreakerState(pybreaker.CircuitBreakerStorage):
    """pybreaker storage for the breaker ``name`` in the Redis that ``client`` talks to.

    Give it a client with short socket timeouts and redis-py's own retries off (as
    ``Breakers.from_settings`` does): every guarded call reads and writes here a few times.
    """

    def __init__(self, client: redis.Redis, name: str) -> None:
        super().__init__("redis")
        self._client = client
        self.key = f"{KEY_PREFIX}{name}"
        self._outage = False

    def _read(self, field: str) -> str | None:
        try:
            value = self._client.hget(self.key, field)
        except redis.RedisError as error:
            self._failed(error)
            return None
        self._recovered()
        if isinstance(value, bytes):
            return value.decode()
        return None if value is None else str(value)

    def _write(self, command: str, *args: str | int) -> None:
        try:
            getattr(self._client, command)(self.key, *args)
        except redis.RedisError as error:
            self._failed(error)
        else:
            self._recovered()

    def _failed(self, error: redis.RedisError) -> None:
        if not self._outage:
            log.warning(
                "breaker state unavailable in Redis; assuming closed until it is back",
                key=self.key,
                error=f"{type(error).__name__}: {error}",
            )
        self._outage = True

    def _recovered(self) -> None:
        if self._outage:
            log.info("breaker state reachable in Redis again", key=self.key)
        self._outage = False

    @property
    def state(self) -> str:
        return self._read("state") or pybreaker.STATE_CLOSED

    @state.setter
    def state(self, state: str) -> None:
        self._write("hset", "state", state)

    def increment_counter(self) -> None:
        self._write("hincrby", "failures", 1)

    def reset_counter(self) -> None:
        self._write("hset", "failures", 0)

    def increment_success_counter(self) -> None:
        self._write("hincrby", "successes", 1)

    def reset_success_counter(self) -> None:
        self._write("hset", "successes", 0)

    @property
    def counter(self) -> int:
        return int(self._read("failures") or 0)

    @property
    def success_counter(self) -> int:
        return int(self._read("successes") or 0)

    @property
    def opened_at(self) -> datetime | None:
        value = self._read("opened_at_ms")
        return None if value is None else datetime.fromtimestamp(int(value) / 1000, UTC)

    @opened_at.setter
    def opened_at(self, now: datetime) -> None:
        self._write("hset", "opened_at_ms", round(now.timestamp() * 1000))
