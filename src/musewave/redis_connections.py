"""Redis: the one place that builds clients and checks that a server is fit for its role.

Three roles use Redis, each with its own URL: the job queue (BullMQ; must not evict), the
cache (may evict), and the circuit breakers' shared state (in the queue's Redis).
"""

from __future__ import annotations

import logging
import socket
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)


class EvictionPolicyError(RuntimeError):
    """The queue's Redis may evict keys, which would silently drop jobs."""


def connection_options(redis_url: str) -> dict[str, Any]:
    """redis-py keyword arguments for ``redis_url`` (redis:// or rediss://, db in the path),
    for connections that block (BullMQ, pub/sub): no client-side read timeout, keepalive on."""
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"the queue needs a redis:// or rediss:// URL, got {redis_url!r}")
    db_text = parts.path.lstrip("/")
    options: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": parts.port or 6379,
        "db": int(db_text) if db_text else 0,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        # Blocking reads (BZPOPMIN, XREAD BLOCK, pub/sub) must not time out client-side; TCP
        # keepalive finds a silently dead connection (a failover, a dropped NAT entry) in ~1 min.
        "socket_timeout": None,
        "socket_keepalive": True,
        "socket_keepalive_options": {
            socket.TCP_KEEPIDLE: 30,
            socket.TCP_KEEPINTVL: 10,
            socket.TCP_KEEPCNT: 3,
        },
        "socket_connect_timeout": 5,
        "health_check_interval": 30,
    }
    if parts.scheme == "rediss":
        options["ssl"] = True
    return options


def fail_fast_client(redis_url: str, *, timeout_s: float) -> redis.Redis:
    """A client whose every call gives up after ``timeout_s`` and is never retried by
    redis-py (callers that degrade on an outage, or retry by their own policy)."""
    return redis.Redis.from_url(
        redis_url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )


def blocking_client(redis_url: str, **overrides: Any) -> aioredis.Redis:
    """An asyncio client for blocking reads (pub/sub, streams); see :func:`connection_options`."""
    return aioredis.Redis(**{**connection_options(redis_url), **overrides})


def eviction_policy(client: redis.Redis) -> str:
    """The server's ``maxmemory-policy`` (e.g. ``"noeviction"``, ``"allkeys-lru"``).

    Read from ``INFO memory``, which works where ``CONFIG`` is disabled (managed Redis).
    Raises ``redis.RedisError`` when the server cannot be reached.
    """
    info = cast("dict[str, object]", client.info("memory"))
    return str(info.get("maxmemory_policy", "unknown"))


def require_noeviction(redis_url: str, *, required: bool, timeout_s: float = 5.0) -> None:
    """Refuse (``required``: :class:`EvictionPolicyError`) or warn loudly when the queue's Redis
    may evict keys. Raises ``redis.RedisError`` when it cannot be reached."""
    client = fail_fast_client(redis_url, timeout_s=timeout_s)
    try:
        policy = eviction_policy(client)
    finally:
        client.close()
    if policy == "noeviction":
        return
    message = (
        f"the queue's Redis has maxmemory-policy {policy!r}: it may evict queued jobs. "
        "Set `maxmemory-policy noeviction` on it (a cache may use a separate Redis)"
    )
    if required:
        raise EvictionPolicyError(message + ", or MUSEWAVE_REQUIRE_NOEVICTION=false to only warn.")
    log.warning(message)
