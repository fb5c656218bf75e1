"""The cache interface every backend implements, and the behaviour they share.

Backends store bytes under ``(namespace, key)`` with a time to live. Failures of the backing
store never reach the caller: reads become misses and writes are dropped, each counted in
``stats()`` and logged. Programming errors (a bad namespace, pattern or TTL) do raise
``ValueError``.
"""

from __future__ import annotations

import json
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from musewave.cache.canonical import canonical_json
from musewave.cache.stats import CacheStats, StatsCounter

DEFAULT_TTL_S = 3600.0

logger = logging.getLogger(__name__)


class Cache(ABC):
    """Bytes by ``(namespace, key)`` with expiry; see ``LocalCache`` and ``RedisCache``.

    ``ttl_s`` arguments are seconds (fractions allowed); ``None`` means the cache's default.
    """

    # Whether get() may be called on an event loop: True only for an in-process cache, whose
    # read never waits on I/O.
    reads_fit_event_loop = False

    def __init__(self, *, default_ttl_s: float = DEFAULT_TTL_S) -> None:
        self.default_ttl_s = _checked_ttl_s(default_ttl_s)
        self._stats = StatsCounter()

    @abstractmethod
    def get(self, namespace: str, key: str) -> bytes | None:
        """The value, or ``None`` on a miss (absent, expired or backend unavailable)."""

    @abstractmethod
    def set(self, namespace: str, key: str, value: bytes, ttl_s: float | None = None) -> None:
        """Store ``value`` for ``ttl_s`` seconds, replacing any previous value."""

    @abstractmethod
    def mget(self, namespace: str, keys: Sequence[str]) -> list[bytes | None]:
        """Values for ``keys`` in order, ``None`` for each miss; one round trip."""

    @abstractmethod
    def mset(self, namespace: str, items: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        """Store every item with the same TTL; one round trip."""

    @abstractmethod
    def delete(self, namespace: str, key: str) -> None:
        """Remove one key; absent keys are fine."""

    @abstractmethod
    def delete_pattern(self, namespace: str, pattern: str) -> int:
        """Remove the keys of ``namespace`` whose logical key matches the Redis-style glob
        ``pattern`` (see ``patterns``); return how many were removed (0 if unavailable)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections or memory; the object must not be used afterwards."""

    def stats(self) -> CacheStats:
        """Hits, misses and errors since creation."""
        return self._stats.snapshot()

    def warm(
        self,
        namespace: str,
        loader: Callable[[], Mapping[str, bytes]],
        ttl_s: float | None = None,
    ) -> int:
        """Store everything ``loader()`` returns; return how many items it produced.

        Exceptions from ``loader`` propagate: they are the caller's, not the cache's.
        """
        items = loader()
        if items:
            self.mset(namespace, items, ttl_s)
        return len(items)

    def get_json(self, namespace: str, key: str) -> Any:
        """The decoded JSON value, or ``None`` on a miss or an undecodable value."""
        raw = self.get(namespace, key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            logger.warning(
                "cache value %s/%s is not valid JSON; treating as a miss", namespace, key
            )
            self._stats.record(errors=1)
            return None

    def set_json(self, namespace: str, key: str, value: object, ttl_s: float | None = None) -> None:
        """Store ``value`` (plain dicts, lists, strings, numbers, booleans, None) as JSON.

        Raises ``TypeError``/``ValueError`` if ``value`` is not representable as JSON.
        """
        self.set(namespace, key, canonical_json(value), ttl_s)

    def _ttl_s(self, ttl_s: float | None) -> float:
        return self.default_ttl_s if ttl_s is None else _checked_ttl_s(ttl_s)


def _checked_ttl_s(ttl_s: float) -> float:
    if not math.isfinite(ttl_s) or ttl_s <= 0:
        raise ValueError(f"cache TTL must be a positive number of seconds, got {ttl_s!r}")
    return float(ttl_s)
