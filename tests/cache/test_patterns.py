"""Our Redis-glob matcher agrees with Redis's own ``SCAN MATCH`` on the same keys."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
import redis

from musewave.cache.patterns import GlobPattern

KEYS = [
    "a",
    "ab",
    "abc",
    "a*c",
    "a?c",
    "a[c",
    "a\\c",
    "b-c",
    "user:1",
    "user:12",
    "User:1",
    "]x",
    "^x",
    "é",
    "",
]
PATTERNS = [
    "*",
    "a*",
    "a?",
    "a?c",
    "?",
    "a\\*c",
    "a\\?c",
    "a\\[c",
    "a\\\\c",
    "[ab]*",
    "[^a]*",
    "[a-b]*",
    "[b-a]*",
    "[\\]]x",
    "[\\^]x",
    "[]x",
    "[^]x",
    "user:[0-9]",
    "user:[0-9]*",
    "[uU]ser:1",
    "\\a*",
    "??",
    "a\\",
]


@pytest.fixture
def scanned(cache_redis_url: str) -> Iterator[tuple[redis.Redis, str]]:
    client = redis.Redis.from_url(cache_redis_url)
    prefix = f"glob-parity-{uuid4().hex[:8]}:"
    client.mset({prefix + key: b"1" for key in KEYS})
    yield client, prefix
    client.delete(*[prefix + key for key in KEYS])
    client.close()


@pytest.mark.parametrize("pattern", PATTERNS)
def test_glob_matches_like_redis_scan(scanned: tuple[redis.Redis, str], pattern: str) -> None:
    client, prefix = scanned
    by_redis = {name.decode()[len(prefix) :] for name in client.scan_iter(match=prefix + pattern)}
    by_us = {key for key in KEYS if GlobPattern(pattern).matches(key)}
    assert by_us == by_redis


@pytest.mark.parametrize("pattern", ["[", "a[bc", "[^", "x[\\]"])
def test_unterminated_class_is_rejected(pattern: str) -> None:
    with pytest.raises(ValueError, match="unterminated"):
        GlobPattern(pattern)
