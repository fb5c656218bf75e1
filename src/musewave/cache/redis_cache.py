"""The Redis backend: compression, SCAN invalidation, retries and graceful degradation.

Every command goes through ``_call``: transient errors are retried by a
:class:`~musewave.resilience.retry.TransientRetry`; a
command that still fails is counted as an error, logged as a warning and turned into a miss
(reads) or a dropped write, so a cache outage never fails a request. After a connection-level
failure the cache skips Redis for ``outage_cooldown_s`` (counting each skipped operation as
an error), so a dead or black-holed server costs callers one timeout per cool-down period
rather than one per operation.

redis-py 8 retries every command 10 times by default; the client made by ``from_url``
switches that off so that retry is the only layer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar, cast

import redis

from musewave.cache.base import DEFAULT_TTL_S, Cache
from musewave.cache.codec import HEADER_PREFIX_BYTES, CorruptValueError, ValueCodec, key_length
from musewave.cache.keys import HASHED_MARKER, is_hashed, namespace_prefix, physical_key
from musewave.cache.patterns import GlobPattern
from musewave.redis_connections import eviction_policy, fail_fast_client
from musewave.resilience.retry import CACHE_RETRY, TransientRetry, is_transient

T = TypeVar("T")

DEFAULT_SOCKET_TIMEOUT_S = 2.0
DEFAULT_OUTAGE_COOLDOWN_S = 1.0
DEFAULT_SCAN_COUNT = 1000

logger = logging.getLogger(__name__)


class RedisCache(Cache):
    """``Cache`` on Redis; build it with ``RedisCache.from_url``.

    ``client`` must return bytes (``decode_responses=False``). ``codec`` decides compression
    (default: zlib above 1024 bytes). ``scan_count``: the ``COUNT`` hint per SCAN page.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        default_ttl_s: float = DEFAULT_TTL_S,
        codec: ValueCodec | None = None,
        retry: TransientRetry = CACHE_RETRY,
        outage_cooldown_s: float = DEFAULT_OUTAGE_COOLDOWN_S,
        scan_count: int = DEFAULT_SCAN_COUNT,
    ) -> None:
        super().__init__(default_ttl_s=default_ttl_s)
        self.client = client
        self.codec = codec or ValueCodec()
        self.retry = retry
        self.outage_cooldown_s = outage_cooldown_s
        self.scan_count = scan_count
        self._unavailable_until_s = 0.0
        kwargs = client.connection_pool.connection_kwargs
        # For log lines; never the URL, which may carry a password.
        self._where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        socket_timeout_s: float = DEFAULT_SOCKET_TIMEOUT_S,
        default_ttl_s: float = DEFAULT_TTL_S,
        codec: ValueCodec | None = None,
        retry: TransientRetry = CACHE_RETRY,
        outage_cooldown_s: float = DEFAULT_OUTAGE_COOLDOWN_S,
    ) -> RedisCache:
        """A cache on the Redis at ``url`` (``redis://host:port/db``); connects lazily."""
        client = fail_fast_client(url, timeout_s=socket_timeout_s)
        return cls(
            client,
            default_ttl_s=default_ttl_s,
            codec=codec,
            retry=retry,
            outage_cooldown_s=outage_cooldown_s,
        )

    def get(self, namespace: str, key: str) -> bytes | None:
        name = physical_key(namespace, key)
        stored = self._call("get", "returning a miss", lambda: self._get(name), None)
        return self._decode_counted([stored])[0]

    def set(self, namespace: str, key: str, value: bytes, ttl_s: float | None = None) -> None:
        self.mset(namespace, {key: value}, ttl_s)

    def mget(self, namespace: str, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        names = [physical_key(namespace, key) for key in keys]
        misses: list[bytes | None] = [None] * len(keys)
        stored = self._call("mget", "returning misses", lambda: self._mget(names), misses)
        return self._decode_counted(stored)

    def mset(self, namespace: str, items: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        ttl_ms = max(1, round(self._ttl_s(ttl_s) * 1000))
        encoded = {
            physical_key(namespace, key): self.codec.encode(
                value, logical_key=key if is_hashed(key) else None
            )
            for key, value in items.items()
        }
        if not encoded:
            return
        self._call("set", "dropping the write", lambda: self._mset(encoded, ttl_ms), None)

    def delete(self, namespace: str, key: str) -> None:
        name = physical_key(namespace, key)
        self._call("delete", "nothing deleted", lambda: self.client.unlink(name), 0)

    def delete_pattern(self, namespace: str, pattern: str) -> int:
        """See ``Cache.delete_pattern``; two SCAN passes, never KEYS (layout in ``keys``).

        A transient failure part-way restarts the scan; the returned count then covers the
        last pass only.
        """
        matcher = GlobPattern(pattern)
        prefix = namespace_prefix(namespace)

        def both_passes() -> int:
            return self._delete_plain(prefix, pattern) + self._delete_hashed(prefix, matcher)

        return self._call("delete_pattern", "nothing deleted", both_passes, 0)

    def close(self) -> None:
        self.client.close()

    def check_eviction_policy(self) -> str:
        """The server's ``maxmemory-policy``; raises ``redis.RedisError`` if unreachable."""
        return eviction_policy(self.client)

    def _call(self, operation: str, on_failure: str, fn: Callable[[], T], fallback: T) -> T:
        """``fn()`` with retries, or ``fallback`` (counted as an error, logged) if it fails.

        ``on_failure`` says what the fallback means, for the log line.
        """
        if self._unavailable_until_s > time.monotonic():
            self._stats.record(errors=1)
            logger.debug(
                "Redis cache %s marked unavailable; %s %s", self._where, operation, on_failure
            )
            return fallback
        try:
            result = self.retry.call(f"cache {operation}", fn)
        except redis.RedisError as error:
            self._stats.record(errors=1)
            cooldown = ""
            if is_transient(error) and self.outage_cooldown_s > 0:
                self._unavailable_until_s = time.monotonic() + self.outage_cooldown_s
                cooldown = f"; not trying Redis again for {self.outage_cooldown_s:g} s"
            logger.warning(
                "Redis cache %s failed at %s (%s: %s); %s%s",
                operation,
                self._where,
                type(error).__name__,
                error,
                on_failure,
                cooldown,
            )
            return fallback
        if self._unavailable_until_s:
            self._unavailable_until_s = 0.0
            logger.info("Redis cache at %s is reachable again", self._where)
        return result

    def _decode_counted(self, stored: Sequence[bytes | None]) -> list[bytes | None]:
        values: list[bytes | None] = []
        errors = 0
        for raw in stored:
            value = None
            if raw is not None:
                try:
                    value = self.codec.decode(raw)
                except CorruptValueError as error:
                    errors += 1
                    logger.warning("undecodable Redis cache value (%s); returning a miss", error)
            values.append(value)
        hits = sum(value is not None for value in values)
        self._stats.record(hits=hits, misses=len(values) - hits, errors=errors)
        return values

    def _get(self, name: str) -> bytes | None:
        return cast("bytes | None", self.client.get(name))

    def _mget(self, names: list[str]) -> list[bytes | None]:
        return cast("list[bytes | None]", self.client.mget(names))

    def _mset(self, encoded: Mapping[str, bytes], ttl_ms: int) -> None:
        if len(encoded) == 1:
            ((name, value),) = encoded.items()
            self.client.set(name, value, px=ttl_ms)
            return
        with self.client.pipeline(transaction=False) as pipe:
            for name, value in encoded.items():
                pipe.set(name, value, px=ttl_ms)
            pipe.execute()

    def _scan_pages(self, match: str) -> Iterator[list[bytes]]:
        cursor = 0
        while True:
            cursor, names = cast(
                "tuple[int, list[bytes]]",
                self.client.scan(cursor=cursor, match=match, count=self.scan_count),
            )
            if names:
                yield names
            if cursor == 0:
                return

    def _delete_plain(self, prefix: str, pattern: str) -> int:
        start = len(prefix.encode())
        marker = HASHED_MARKER.encode()
        deleted = 0
        for names in self._scan_pages(prefix + pattern):
            plain = [name for name in names if not name[start:].startswith(marker)]
            if plain:
                deleted += self.client.unlink(*plain)
        return deleted

    def _delete_hashed(self, prefix: str, matcher: GlobPattern) -> int:
        deleted = 0
        for names in self._scan_pages(prefix + HASHED_MARKER + "*"):
            logical = self._logical_keys(names)
            doomed = [
                name
                for name, key in zip(names, logical, strict=True)
                if key is not None and matcher.matches(key)
            ]
            if doomed:
                deleted += self.client.unlink(*doomed)
        return deleted

    def _logical_keys(self, names: list[bytes]) -> list[str | None]:
        """The logical keys embedded in hashed entries (``None`` if gone or unreadable)."""
        with self.client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.getrange(name, 0, HEADER_PREFIX_BYTES - 1)
            heads = cast("list[bytes]", pipe.execute())
        lengths: list[int] = []
        for head in heads:
            try:
                lengths.append(key_length(head) if head else 0)
            except CorruptValueError:
                lengths.append(0)
        with self.client.pipeline(transaction=False) as pipe:
            for name, length in zip(names, lengths, strict=True):
                pipe.getrange(name, HEADER_PREFIX_BYTES, HEADER_PREFIX_BYTES + length - 1)
            bodies = cast("list[bytes]", pipe.execute())
        return [
            body.decode(errors="replace") if length else None
            for body, length in zip(bodies, lengths, strict=True)
        ]
