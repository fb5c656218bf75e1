"""Cache get latency on a hit: 10,000 gets of a 2 KB value, p50/p99 in µs, per backend.

scripts/test-services .venv/bin/python bench/cache_bench.py   # uses MUSEWAVE_TEST_REDIS_URL
.venv/bin/python bench/cache_bench.py redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

import redis

from musewave.cache import Cache, LocalCache, RedisCache

GETS = 10_000
WARM_UP = 1_000


def percentiles_us(get: Callable[[], object]) -> tuple[float, float]:
    for _ in range(WARM_UP):
        get()
    samples = []
    for _ in range(GETS):
        start = time.perf_counter_ns()
        get()
        samples.append(time.perf_counter_ns() - start)
    samples.sort()
    return samples[GETS // 2] / 1000, samples[int(GETS * 0.99)] / 1000


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ["MUSEWAVE_TEST_REDIS_URL"]
    sections = [{"name": f"s{i}", "bars": 8, "chords": ["Am", "F", "C", "G"]} for i in range(40)]
    values = {
        "2 KB JSON (compressed)": json.dumps({"sections": sections}).encode()[:2048],
        "2 KB random (stored raw)": os.urandom(2048),
    }
    bare = redis.Redis.from_url(url)
    print("| backend | value | p50 µs | p99 µs |\n|---|---|---:|---:|")
    for label, value in values.items():
        backends: list[tuple[str, Cache]] = [
            ("LocalCache", LocalCache()),
            ("RedisCache", RedisCache.from_url(url)),
        ]
        for name, cache in backends:
            cache.set("bench", "hot", value)
            assert cache.get("bench", "hot") == value
            p50, p99 = percentiles_us(lambda c=cache: c.get("bench", "hot"))
            print(f"| {name} | {label} | {p50:.1f} | {p99:.1f} |")
            cache.close()
        bare.set("musewave-bench-raw", value)
        p50, p99 = percentiles_us(lambda: bare.get("musewave-bench-raw"))
        print(f"| redis-py GET (reference) | {label} | {p50:.1f} | {p99:.1f} |")
    bare.delete("musewave-bench-raw")


if __name__ == "__main__":
    main()
