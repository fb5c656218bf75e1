"""What API-key authentication and generation rate limiting cost per request.

(a) Micro, in this process: ``Authenticator.caller`` for anonymous use, for a valid key (cached,
as for every request within ``VERIFIED_TTL_S`` of the key's last check; and uncached: SHA-256,
a database lookup in the thread pool, a constant-time compare) and for a wrong key; and
``GenerationLimits.hit`` (the ``limits`` library's moving window), allowed and refused, on
``memory://`` and on Redis. The keys live in a SQLite file (the embedded setup) unless
``--database-url`` names another database.

(b) End to end: ``GET /v1/jobs/{id}`` of a queued job (a database read every time) on real
``musewave serve`` processes, ``MUSEWAVE_AUTH=off`` and ``required`` (with a key), and ``auto``
on loopback with and without a key (one process: no difference between processes counts):
requests one at a time on a keep-alive connection, the servers taking turns.

Each figure is the median of ``--repeats`` repeats, with references measured in the same run:
a bare SHA-256 of a key, and the request without a key. Prints a Markdown table.

    scripts/test-services python bench/auth_bench.py   # exports MUSEWAVE_TEST_REDIS_URL
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException
from service_bench import server

from musewave.access import Caller, KeyStore, Scope
from musewave.access.keys import secret_digest
from musewave.access.rate_limits import GenerationLimits
from musewave.config import Settings
from musewave.db import make_engine, make_session_factory, upgrade
from musewave.service.auth import Authenticator

RATE = "60/minute"  # the default per-key limit: a refused hit scans a full window
TRACK = json.dumps({"prompt": "auth bench", "duration_s": 30, "formats": ["wav"]})
UNCACHED_SHARE = 20  # uncached checks are much slower: make that many times fewer


def per_call_us(call: Callable[[int], object], calls: int, repeats: int) -> float:
    """Median over ``repeats`` of the mean µs per call of ``calls`` calls in a row."""
    means = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(calls):
            call(i)
        means.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(means)


async def per_await_us(call: Callable[[int], Awaitable[object]], calls: int, repeats: int) -> float:
    """:func:`per_call_us` for a coroutine function, awaited in a running loop as the server
    does (a check that never suspends then costs what a function call does)."""
    means = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(calls):
            await call(i)
        means.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(means)


async def micro(
    database_url: str, redis_url: str, calls: int, repeats: int
) -> list[tuple[str, float]]:
    upgrade(database_url)
    engine = make_engine(database_url)
    keys = KeyStore(make_session_factory(engine))
    record, secret = keys.create("bench", Scope.USER)
    wrong = secret[:-4] + "xxxx"
    required = Settings(auth="required")
    auth = Authenticator(keys, required)
    auto = Authenticator(keys, Settings(auth="auto", host="127.0.0.1"))

    def check(
        make: Callable[[], Authenticator], key: str | None
    ) -> Callable[[int], Awaitable[object]]:
        async def call(_: int) -> object:
            try:
                return await make().caller(None, key)  # type: ignore[arg-type]  # unused there
            except HTTPException:  # 401
                return None

        return call

    def fresh() -> Authenticator:  # remembers nothing: every check reads the key store
        return Authenticator(keys, required)

    async def nothing(_: int) -> None:
        pass

    def digest(_: int) -> object:
        return secret_digest(secret)

    def key_store_read(_: int) -> object:
        return keys.authenticate(secret)

    few = max(1, calls // UNCACHED_SHARE)
    rows = [
        ("reference: SHA-256 of a key", per_call_us(digest, calls, repeats)),
        ("reference: awaiting an empty coroutine", await per_await_us(nothing, calls, repeats)),
    ]
    checks = [
        ("anonymous (auth auto, loopback bind)", check(lambda: auto, None), calls),
        ("valid key, cached", check(lambda: auth, secret), calls),
        ("wrong key, cached (401)", check(lambda: auth, wrong), calls),
        ("valid key, uncached (key store read in the thread pool)", check(fresh, secret), few),
        ("wrong key, uncached (401)", check(fresh, wrong), few),
    ]
    rows += [(name, await per_await_us(call, n, repeats)) for name, call, n in checks]
    rows.append(
        ("KeyStore.authenticate alone (no thread)", per_call_us(key_store_read, few, repeats))
    )
    engine.dispose()

    caller = Caller(owner=record.id, scope=Scope.USER)
    for name, uri in (("memory://", "memory://"), ("Redis", redis_url)):
        if not uri:
            continue
        limits = GenerationLimits(uri, default_rate=RATE, anonymous_rate=RATE)
        run = time.time_ns()  # new counters for each run on a Redis that outlives it

        def allowed(i: int, limits: GenerationLimits = limits, run: int = run) -> object:
            return limits.hit(Caller(owner=f"{run}-{i}", scope=Scope.USER), "127.0.0.1")

        def refused(_: int, limits: GenerationLimits = limits) -> object:
            return limits.hit(caller, "127.0.0.1")

        for _ in range(61):  # over the limit: every later hit in the window is refused
            refused(0)
        hits = calls // 5
        rows.append((f"rate limit on {name}: allowed", per_call_us(allowed, hits, repeats)))
        rows.append((f"rate limit on {name}: refused", per_call_us(refused, hits, repeats)))
    return rows


class KeepAlive:
    """Requests one at a time on one keep-alive connection, with ``secret`` as bearer."""

    def __init__(self, port: int, secret: str | None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port)
        self.headers = {} if secret is None else {"Authorization": f"Bearer {secret}"}

    def submit(self) -> str:
        headers = {**self.headers, "Content-Type": "application/json"}
        self.connection.request("POST", "/v1/generations", body=TRACK, headers=headers)
        response = self.connection.getresponse()
        job_id: str = json.loads(response.read())["id"]
        return job_id

    def get_us(self, path: str, expect: int) -> float:
        """The latency of ``GET path`` in µs."""
        start = time.perf_counter()
        try:
            self.connection.request("GET", path, headers=self.headers)
            response = self.connection.getresponse()
        except ConnectionError:  # the server closes connections idle for 5 s: once more
            self.connection.close()
            self.connection.request("GET", path, headers=self.headers)
            response = self.connection.getresponse()
        response.read()
        elapsed_us = (time.perf_counter() - start) * 1e6
        if response.status != expect:
            raise RuntimeError(f"GET {path}: {response.status}, not {expect}")
        return elapsed_us


@dataclass
class Arm:
    name: str
    client: KeepAlive
    path: str
    expect: int = 200


def with_key(root: Path, name: str) -> str:
    """A migrated database for server ``name`` holding one user key; the key's secret."""
    url = Settings(data_dir=root / name).resolved_database_url
    upgrade(url)
    engine = make_engine(url)
    try:
        return KeyStore(make_session_factory(engine)).create("bench", Scope.USER)[1]
    finally:
        engine.dispose()


def end_to_end(requests: int, repeats: int) -> list[tuple[str, float]]:
    """Median latencies: with AUTH=off, with AUTH=required and a key, and (the same process
    both ways, so no difference between server processes counts) AUTH=auto on loopback with
    and without a key."""
    # Each server starts its first job at once, then one job per 1,000 s: the second job
    # stays queued, so every status read goes to the database (no cached view).
    env = {"MUSEWAVE_CONCURRENCY": "1", "MUSEWAVE_RATE_LIMIT_PER_S": "0.001"}
    with tempfile.TemporaryDirectory(prefix="musewave-auth-bench-") as tmp:
        root = Path(tmp)
        secrets = {name: with_key(root, name) for name in ("required", "auto")}
        with (
            server(root, "off", MUSEWAVE_AUTH="off", **env) as off,
            server(root, "required", MUSEWAVE_AUTH="required", **env) as required,
            server(root, "auto", MUSEWAVE_AUTH="auto", **env) as auto,
        ):
            clients = {
                "off": KeepAlive(off.port, None),
                "required": KeepAlive(required.port, secrets["required"]),
                "auto": KeepAlive(auto.port, secrets["auto"]),
            }
            paths = {}
            for name, client in clients.items():
                client.submit()  # renders now
                paths[name] = f"/v1/jobs/{client.submit()}"
            wrong = KeepAlive(required.port, secrets["required"][:-4] + "xxxx")
            arms = [
                Arm("auth off, no key", clients["off"], paths["off"]),
                Arm("auth required, valid key", clients["required"], paths["required"]),
                Arm("auth required, wrong key (401)", wrong, paths["required"], 401),
                Arm("auth auto, no key", KeepAlive(auto.port, None), paths["auto"]),
                Arm("auth auto, valid key", clients["auto"], paths["auto"]),
            ]
            time.sleep(20)  # let the first jobs (a few s of CPU each) finish rendering
            medians: dict[str, list[float]] = {arm.name: [] for arm in arms}
            for _ in range(repeats):  # turns: load drifting over time hits every arm alike
                for arm in arms:
                    for _ in range(50):  # warm-up (and reconnect after the others' turns)
                        arm.client.get_us(arm.path, arm.expect)
                    latencies = [arm.client.get_us(arm.path, arm.expect) for _ in range(requests)]
                    medians[arm.name].append(statistics.median(latencies))
    return [(name, statistics.median(values)) for name, values in medians.items()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20_000, help="calls per micro repeat")
    parser.add_argument("--requests", type=int, default=1000, help="requests per e2e repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database-url", default="", help="key store (default: a SQLite file)")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("MUSEWAVE_TEST_REDIS_URL", ""),
        help="Redis for the rate-limit rows (default: $MUSEWAVE_TEST_REDIS_URL; none: skipped)",
    )
    parser.add_argument("--parts", default="micro,e2e", help="what to run")
    args = parser.parse_args()
    parts = set(args.parts.split(","))

    rows: list[tuple[str, str]] = []
    if "micro" in parts:
        with tempfile.TemporaryDirectory(prefix="musewave-auth-bench-") as tmp:
            url = args.database_url or f"sqlite:///{Path(tmp) / 'keys.db'}"
            micro_rows = asyncio.run(micro(url, args.redis_url, args.calls, args.repeats))
            rows += [(name, f"{us:.1f}") for name, us in micro_rows]
    if "e2e" in parts:
        e2e = dict(end_to_end(args.requests, args.repeats))
        rows += [(f"GET /v1/jobs/{{id}}, {name}: median", f"{us:.0f}") for name, us in e2e.items()]
        for name, reference in (
            ("auth required, valid key", "auth off, no key"),
            ("auth required, wrong key (401)", "auth off, no key"),
            ("auth auto, valid key", "auth auto, no key"),
        ):
            rows.append((f"difference: {name} − {reference}", f"{e2e[name] - e2e[reference]:+.0f}"))

    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\nMuseWave auth bench — {os.cpu_count()} CPUs, load average {load}")
    print(f"medians of {args.repeats} repeats\n")
    print("| measurement | µs |")
    print("|---|---:|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
