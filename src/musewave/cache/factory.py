"""Choose the cache backend from configuration."""

from __future__ import annotations

from musewave.cache.base import Cache
from musewave.cache.local import LocalCache
from musewave.cache.redis_cache import RedisCache


def make_cache(url: str | None) -> Cache:
    """``LocalCache`` when ``url`` is ``None`` (embedded mode), else ``RedisCache.from_url``."""
    if url is None:
        return LocalCache()
    return RedisCache.from_url(url)
