"""Hit, miss and error counts for one cache object.

Every count also goes to the process-wide Prometheus counters ``musewave_cache_hits_total``,
``musewave_cache_misses_total`` and ``musewave_cache_errors_total``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from musewave.observability import metrics


@dataclass(frozen=True, slots=True)
class CacheStats:
    """A snapshot of counts since the cache object was created.

    ``hits``/``misses`` count keys read (an ``mget`` of 3 keys adds 3). ``errors`` counts
    operations the backend could not serve (Redis unreachable or refusing: one per call, also
    while skipped during an outage cool-down) and undecodable stored values. A failed read
    therefore adds its keys to ``misses`` and one to ``errors``.
    """

    hits: int = 0
    misses: int = 0
    errors: int = 0


class StatsCounter:
    """Thread-safe counters behind ``CacheStats``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._errors = 0

    def record(self, *, hits: int = 0, misses: int = 0, errors: int = 0) -> None:
        """Add to the counts."""
        with self._lock:
            self._hits += hits
            self._misses += misses
            self._errors += errors
        metrics.cache_read(hits, misses, errors)

    def snapshot(self) -> CacheStats:
        """The counts now."""
        with self._lock:
            return CacheStats(hits=self._hits, misses=self._misses, errors=self._errors)
