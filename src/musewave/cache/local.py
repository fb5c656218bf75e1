"""The embedded default: an in-process LRU with per-entry expiry."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from musewave.cache.base import DEFAULT_TTL_S, Cache
from musewave.cache.keys import validate_namespace
from musewave.cache.patterns import GlobPattern

DEFAULT_MAX_ENTRIES = 1024
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class _Entry:
    value: bytes
    expires_at_s: float


class LocalCache(Cache):
    """Thread-safe LRU bounded by entry count and total value bytes.

    ``max_entries``: most entries kept. ``max_bytes``: most value bytes kept in total; a
    single value larger than this is not stored. ``clock``: seconds, monotonic; inject a fake
    one in tests. Expired entries are dropped when next touched or when evicted as least
    recently used.
    """

    reads_fit_event_loop = True  # a dict lookup under a lock held for microseconds

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        default_ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(default_ttl_s=default_ttl_s)
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("max_entries and max_bytes must be at least 1")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._bytes = 0

    def get(self, namespace: str, key: str) -> bytes | None:
        validate_namespace(namespace)
        with self._lock:
            value = self._lookup((namespace, key), self._clock())
        self._stats.record(hits=int(value is not None), misses=int(value is None))
        return value

    def set(self, namespace: str, key: str, value: bytes, ttl_s: float | None = None) -> None:
        validate_namespace(namespace)
        expires_at_s = self._clock() + self._ttl_s(ttl_s)
        with self._lock:
            self._store((namespace, key), value, expires_at_s)

    def mget(self, namespace: str, keys: Sequence[str]) -> list[bytes | None]:
        validate_namespace(namespace)
        with self._lock:
            now_s = self._clock()
            values = [self._lookup((namespace, key), now_s) for key in keys]
        hits = sum(value is not None for value in values)
        self._stats.record(hits=hits, misses=len(values) - hits)
        return values

    def mset(self, namespace: str, items: Mapping[str, bytes], ttl_s: float | None = None) -> None:
        validate_namespace(namespace)
        expires_at_s = self._clock() + self._ttl_s(ttl_s)
        with self._lock:
            for key, value in items.items():
                self._store((namespace, key), value, expires_at_s)

    def delete(self, namespace: str, key: str) -> None:
        validate_namespace(namespace)
        with self._lock:
            self._remove((namespace, key))

    def delete_pattern(self, namespace: str, pattern: str) -> int:
        validate_namespace(namespace)
        matcher = GlobPattern(pattern)
        removed = 0
        with self._lock:
            now_s = self._clock()
            for entry_key in list(self._entries):
                entry_namespace, key = entry_key
                if entry_namespace != namespace or not matcher.matches(key):
                    continue
                if self._entries[entry_key].expires_at_s > now_s:
                    removed += 1
                self._remove(entry_key)
        return removed

    def close(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        """Entries held, including expired ones not yet dropped."""
        with self._lock:
            return len(self._entries)

    def _lookup(self, entry_key: tuple[str, str], now_s: float) -> bytes | None:
        entry = self._entries.get(entry_key)
        if entry is None:
            return None
        if entry.expires_at_s <= now_s:
            self._remove(entry_key)
            return None
        self._entries.move_to_end(entry_key)
        return entry.value

    def _store(self, entry_key: tuple[str, str], value: bytes, expires_at_s: float) -> None:
        self._remove(entry_key)
        if len(value) > self.max_bytes:
            logger.warning(
                "cache value %s/%s is %d bytes, over max_bytes=%d; not stored",
                *entry_key,
                len(value),
                self.max_bytes,
            )
            return
        self._entries[entry_key] = _Entry(value, expires_at_s)
        self._bytes += len(value)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._remove(next(iter(self._entries)))

    def _remove(self, entry_key: tuple[str, str]) -> None:
        entry = self._entries.pop(entry_key, None)
        if entry is not None:
            self._bytes -= len(entry.value)
