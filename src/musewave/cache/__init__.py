"""The cache service: one interface, an in-process LRU by default, Redis when configured.

cache = make_cache(settings_cache_url)          # None → LocalCache
cache.set("plans", fingerprint, plan_bytes, ttl_s=600)
cache.get("plans", fingerprint)                 # bytes, or None on a miss or an outage
"""

from musewave.cache.base import DEFAULT_TTL_S, Cache
from musewave.cache.codec import ValueCodec
from musewave.cache.decorator import cached
from musewave.cache.factory import make_cache
from musewave.cache.local import LocalCache
from musewave.cache.redis_cache import RedisCache
from musewave.cache.stats import CacheStats

__all__ = [
    "DEFAULT_TTL_S",
    "Cache",
    "CacheStats",
    "LocalCache",
    "RedisCache",
    "ValueCodec",
    "cached",
    "make_cache",
]
