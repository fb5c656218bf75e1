"""Behaviour every cache backend shares; each test runs on LocalCache and on RedisCache."""

from __future__ import annotations

import os
from typing import Any

import pytest

from musewave.cache import cached
from tests.cache.conftest import CacheCase
from tests.cache.support import wait_until


def test_set_then_get_returns_the_same_bytes(case: CacheCase) -> None:
    cache, ns = case.cache, case.namespace
    values = {"empty": b"", "binary": bytes(range(256)), "big": os.urandom(200_000)}
    for key, value in values.items():
        cache.set(ns, key, value)
    for key, value in values.items():
        assert cache.get(ns, key) == value


def test_set_replaces_the_previous_value(case: CacheCase) -> None:
    case.cache.set(case.namespace, "k", b"old")
    case.cache.set(case.namespace, "k", b"new")
    assert case.cache.get(case.namespace, "k") == b"new"


def test_stats_count_hits_and_misses(case: CacheCase) -> None:
    cache, ns = case.cache, case.namespace
    cache.set(ns, "present", b"1")
    assert cache.get(ns, "absent") is None
    assert cache.get(ns, "present") == b"1"
    assert cache.mget(ns, ["present", "absent", "present"]) == [b"1", None, b"1"]
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.errors) == (3, 2, 0)


def test_entries_expire_after_their_ttl(case: CacheCase) -> None:
    cache, ns = case.cache, case.namespace
    cache.set(ns, "short", b"v", ttl_s=0.2)
    cache.mset(ns, {"short-batch": b"v"}, ttl_s=0.2)
    cache.set(ns, "long", b"v", ttl_s=60)
    assert cache.get(ns, "short") == b"v"
    case.pass_time(0.2)
    assert wait_until(lambda: cache.mget(ns, ["short", "short-batch"]) == [None, None])
    assert cache.get(ns, "long") == b"v"


@pytest.mark.parametrize("ttl_s", [0, -1, float("nan"), float("inf")])
def test_invalid_ttl_is_rejected(case: CacheCase, ttl_s: float) -> None:
    with pytest.raises(ValueError, match="TTL"):
        case.cache.set(case.namespace, "k", b"v", ttl_s=ttl_s)


@pytest.mark.parametrize("bad_namespace", ["", "a:b", "a*", "has space", "x" * 65])
def test_namespaces_that_could_leak_are_rejected(case: CacheCase, bad_namespace: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        case.cache.get(bad_namespace, "k")
    with pytest.raises(ValueError, match="namespace"):
        case.cache.delete_pattern(bad_namespace, "*")


def test_namespaces_isolate_equal_keys(case: CacheCase) -> None:
    cache, ns = case.cache, case.namespace
    other = ns + "-other"
    try:
        cache.set(ns, "k", b"mine")
        cache.set(other, "k", b"theirs")
        assert cache.get(ns, "k") == b"mine"
        assert cache.get(other, "k") == b"theirs"
        assert cache.delete_pattern(ns, "*") == 1
        assert cache.get(ns, "k") is None
        assert cache.get(other, "k") == b"theirs"
    finally:
        cache.delete_pattern(other, "*")


def test_mset_then_mget_keeps_order_and_reports_misses(case: CacheCase) -> None:
    cache, ns = case.cache, case.namespace
    cache.mset(ns, {f"k{i}": f"v{i}".encode() for i in range(50)})
    keys = ["k3", "nope", "k0", "k49", "k3"]
    assert cache.mget(ns, keys) == [b"v3", None, b"v0", b"v49", b"v3"]
    assert cache.mget(ns, []) == []
    cache.mset(ns, {})


def test_delete_removes_only_that_key(case: CacheCase) -> None:
    cache, ns = case.cache, case.namespace
    cache.mset(ns, {"a": b"1", "b": b"2"})
    cache.delete(ns, "a")
    cache.delete(ns, "never-set")
    assert cache.mget(ns, ["a", "b"]) == [None, b"2"]


LONG_KEY = "user:42:" + "x" * 300
PATTERN_KEYS = [
    "user:1:profile",
    "user:2:profile",
    "user:10:settings",
    "user:*:literal-star",
    "users",
    "job:1",
    "job:a",
    "#hash-like",
    LONG_KEY,
    "lång:ключ",
]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*", PATTERN_KEYS),
        ("user:*", [k for k in PATTERN_KEYS if k.startswith("user:")]),
        ("user:?:profile", ["user:1:profile", "user:2:profile"]),
        ("user:[12]:*", ["user:1:profile", "user:2:profile"]),
        ("user:[^1]*", ["user:2:profile", "user:*:literal-star", LONG_KEY]),
        ("job:[0-9]", ["job:1"]),
        (r"user:\*:*", ["user:*:literal-star"]),
        ("*:profile", ["user:1:profile", "user:2:profile"]),
        ("#*", ["#hash-like"]),
        ("*xxx", [LONG_KEY]),
        ("lång:*", ["lång:ключ"]),
        ("nothing*", []),
    ],
)
def test_delete_pattern_removes_exactly_the_matching_keys(
    case: CacheCase, pattern: str, expected: list[str]
) -> None:
    cache, ns = case.cache, case.namespace
    cache.mset(ns, {key: key.encode() for key in PATTERN_KEYS})
    assert cache.delete_pattern(ns, pattern) == len(expected)
    values = cache.mget(ns, PATTERN_KEYS)
    remaining = [k for k, v in zip(PATTERN_KEYS, values, strict=True) if v is not None]
    assert remaining == [key for key in PATTERN_KEYS if key not in expected]


def test_delete_pattern_rejects_an_unterminated_class(case: CacheCase) -> None:
    with pytest.raises(ValueError, match="unterminated"):
        case.cache.delete_pattern(case.namespace, "user:[12")


def test_delete_pattern_covers_thousands_of_keys(case: CacheCase) -> None:
    cache, ns = case.cache, case.namespace
    cache.mset(ns, {f"doomed:{i}": b"x" for i in range(1500)})
    cache.mset(ns, {f"kept:{i}": b"x" for i in range(500)})
    assert cache.delete_pattern(ns, "doomed:*") == 1500
    assert cache.delete_pattern(ns, "doomed:*") == 0
    assert all(v == b"x" for v in cache.mget(ns, [f"kept:{i}" for i in range(500)]))


def test_json_helpers_round_trip_plain_data(case: CacheCase) -> None:
    cache, ns = case.cache, case.namespace
    plan = {"tempo_bpm": 100, "sections": [{"name": "intro", "bars": 8}], "key": "A minor"}
    cache.set_json(ns, "plan", plan)
    assert cache.get_json(ns, "plan") == plan
    assert cache.get_json(ns, "absent") is None
    cache.set(ns, "not-json", b"\xff\x00")
    assert cache.get_json(ns, "not-json") is None
    assert cache.stats().errors == 1


def test_cached_calls_the_function_once_per_distinct_arguments(case: CacheCase) -> None:
    calls: list[tuple[Any, ...]] = []

    @cached(case.cache, case.namespace, ttl_s=60)
    def plan_for(prompt: str, bars: int = 8, *, tags: tuple[str, ...] = ()) -> dict[str, Any]:
        calls.append((prompt, bars, tags))
        return {"prompt": prompt, "bars": bars, "tags": list(tags)}

    first = plan_for("calm piano", 8)
    assert plan_for("calm piano", 8) == first
    assert plan_for("calm piano") == first
    assert plan_for(prompt="calm piano", bars=8) == first
    assert len(calls) == 1
    assert plan_for("calm piano", 16) == {"prompt": "calm piano", "bars": 16, "tags": []}
    assert plan_for("calm piano", tags=("lofi",))["tags"] == ["lofi"]
    assert len(calls) == 3
    assert plan_for.__name__ == "plan_for"


def test_cached_keeps_none_results_and_honours_a_custom_key(case: CacheCase) -> None:
    calls: list[int] = []

    @cached(case.cache, case.namespace, key=lambda job_id: f"job:{job_id}")
    def lookup(job_id: int) -> None:
        calls.append(job_id)

    assert lookup(7) is None
    assert lookup(7) is None
    assert calls == [7]
    assert case.cache.get(case.namespace, "job:7") == b"[null]"
    assert case.cache.delete_pattern(case.namespace, "job:*") == 1
    lookup(7)
    assert calls == [7, 7]


def test_cached_keys_can_be_invalidated_per_function(case: CacheCase) -> None:
    calls: list[int] = []

    @cached(case.cache, case.namespace)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert [square(2), square(3), square(2)] == [4, 9, 4]
    assert calls == [2, 3]
    name = f"{square.__module__}.{square.__qualname__}"
    assert case.cache.delete_pattern(case.namespace, f"{name}:*") == 2
    assert square(2) == 4
    assert calls == [2, 3, 2]


def test_cached_rejects_arguments_json_cannot_represent(case: CacheCase) -> None:
    @cached(case.cache, case.namespace)
    def echo(value: object) -> str:
        return "ok"

    with pytest.raises(TypeError):
        echo(object())


def test_warm_loads_every_item(case: CacheCase) -> None:
    cache, ns = case.cache, case.namespace
    items = {f"genre:{name}": name.encode() for name in ("synthwave", "lofi", "ambient")}
    assert cache.warm(ns, lambda: items, ttl_s=60) == 3
    assert cache.mget(ns, list(items)) == list(items.values())
    assert cache.warm(ns, dict) == 0
