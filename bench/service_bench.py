"""Service benchmark against a real ``musewave serve`` process on loopback.

(a) ``POST /v1/generations`` latency at a steady (open-loop) rate; (b) ``GET /v1/jobs/{id}``
latency at a steady rate, and the most one client process gets with bounded concurrency;
(c) 1,000 WebSocket subscribers to one job: does every socket receive every event, the
fan-out latency (event ``ts`` → client receive time) and the server's RSS.

(a) and (b) run twice: on an idle server (one job start per 1,000 s, so no worker renders)
and on a default server (concurrency 2) whose workers render the submitted tracks
meanwhile, sharing the machine's cores with the API and with this client.

    python bench/service_bench.py [--rate 50] [--status-rate 500] [--seconds 10] [--sockets 1000]

Latency is measured from each request's scheduled send time (no coordinated omission).
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
from websockets.asyncio.client import connect

READY_TIMEOUT_S = 60.0
TRACK = {"duration_s": 30, "formats": ["wav"]}
TERMINAL = ("completed", "failed", "cancelled")
BLOCKERS = 3
COMPRESSION: str | None = os.environ.get("BENCH_WS_COMPRESSION", "deflate") or None


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, job_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/progress/{job_id}"

    def rss_mb(self) -> float:
        return psutil.Process(self.process.pid).memory_info().rss / 2**20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server(root: Path, name: str, **env: str) -> Iterator[Server]:
    """A server with its own data dir and ``MUSEWAVE_*`` overrides; SIGTERM (then SIGKILL)
    when done."""
    data_dir = root / name
    data_dir.mkdir()
    port = _free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEWAVE_")}
    full_env |= {
        "MUSEWAVE_DATA_DIR": str(data_dir),
        "MUSEWAVE_LOG_LEVEL": "warning",
        "MUSEWAVE_SHUTDOWN_GRACE_S": "1",
        **env,
    }
    log = (root / f"{name}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "musewave.cli", "serve", "--port", str(port)],
        env=full_env,
        cwd=data_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    running = Server(process, port, data_dir)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:  # readiness has no event to await: poll it, bounded
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server {name} did not start; see {log.name}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{running.url}/health/ready", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextlib.contextmanager
def pinned(srv: Server) -> Iterator[None]:
    """The API process on the first CPU, this client on the second (when there are two), so
    neither steals the other's core."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        yield
        return
    psutil.Process(srv.process.pid).cpu_affinity([cpus[0]])
    os.sched_setaffinity(0, {cpus[1]})
    try:
        yield
    finally:
        os.sched_setaffinity(0, set(cpus))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


@dataclass
class Run:
    sent: int
    ok: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds


async def steady(rate: float, seconds: float, call: Callable[[int], Awaitable[bool]]) -> Run:
    """Open loop: call number i starts at t0 + i/rate whatever the earlier ones are doing;
    its latency counts from that scheduled time."""
    loop = asyncio.get_running_loop()
    total = int(rate * seconds)
    latencies: list[float] = []
    ok = 0
    t0 = loop.time() + 0.05

    async def one(i: int) -> None:
        nonlocal ok
        scheduled = t0 + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        success = await call(i)
        latencies.append((loop.time() - scheduled) * 1000)
        ok += success

    await asyncio.gather(*(one(i) for i in range(total)))
    return Run(total, ok, loop.time() - t0, latencies)


async def closed_loop(workers: int, seconds: float, call: Callable[[int], Awaitable[bool]]) -> Run:
    """``workers`` callers back to back for ``seconds``: the throughput one process gets."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    latencies: list[float] = []
    ok = 0
    counter = iter(range(10**9))

    async def worker() -> None:
        nonlocal ok
        while loop.time() < end:
            start = loop.time()
            success = await call(next(counter))
            latencies.append((loop.time() - start) * 1000)
            ok += success

    start = loop.time()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return Run(len(latencies), ok, loop.time() - start, latencies)


async def enqueue_and_status(
    srv: Server, rate: float, status_rates: list[float], seconds: float, *, settle: bool
) -> dict[str, Run]:
    """With ``settle``, the first warm-up job (the only one the idle server starts) finishes
    before measuring."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=srv.url, limits=limits, timeout=30) as client:
        ids: list[str] = []

        async def submit(i: int) -> bool:
            body = {"prompt": f"benchmark request {i}", **TRACK}
            response = await client.post("/v1/generations", json=body)
            if response.status_code == 202:
                ids.append(response.json()["job_id"])
            return response.status_code == 202

        for i in range(20):  # warm up connections and code paths
            await submit(-i)
        if settle:
            await _wait_event(srv, ids[0], lambda e: e["type"] in TERMINAL, 120)
        enqueue = await steady(rate, seconds, submit)

        async def status(i: int) -> bool:
            response = await client.get(f"/v1/jobs/{ids[i % len(ids)]}")
            return response.status_code == 200

        gate = asyncio.Semaphore(64)  # bounded concurrency for the open-loop status run

        async def bounded_status(i: int) -> bool:
            async with gate:
                return await status(i)

        runs = {"enqueue": enqueue}
        for status_rate in status_rates:
            runs[f"status@{status_rate:g}"] = await steady(status_rate, seconds, bounded_status)
        runs["status max"] = await closed_loop(32, min(seconds, 5.0), status)
    return runs


async def _wait_event(
    srv: Server, job_id: str, predicate: Callable[[dict[str, Any]], bool], timeout_s: float
) -> dict[str, Any]:
    async with asyncio.timeout(timeout_s), connect(srv.ws(job_id)) as ws:
        async for raw in ws:
            event: dict[str, Any] = json.loads(raw)
            if predicate(event):
                return event
    raise RuntimeError(f"job {job_id}: stream ended before the awaited event")


async def fan_out(srv: Server, sockets: int) -> dict[str, Any]:
    """``sockets`` subscribers to one job that starts once all of them are connected."""
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as client:
        # The only worker renders 120 s tracks (up to BLOCKERS of them) until every socket is
        # connected; the watched job has low priority, so it starts only once they are gone.
        blockers = [
            (
                await client.post(
                    "/v1/generations",
                    json={"prompt": f"busy worker {n}", **TRACK, "duration_s": 120},
                )
            ).json()["job_id"]
            for n in range(BLOCKERS)
        ]
        await _wait_event(srv, blockers[0], lambda e: e["type"] == "progress", 60)
        body = {"prompt": "fan-out track", "formats": ["mp3", "wav"], "priority": "low"}
        job_id = (await client.post("/v1/generations", json={**body, "duration_s": 30})).json()[
            "job_id"
        ]

        rss_idle = srv.rss_mb()
        connected = asyncio.Event()
        ready = 0
        received: list[list[tuple[dict[str, Any], float]]] = [[] for _ in range(sockets)]
        close_codes: list[int | None] = [None] * sockets

        async def subscriber(n: int) -> None:
            nonlocal ready
            async with connect(
                srv.ws(job_id), open_timeout=60, max_queue=None, compression=COMPRESSION
            ) as ws:
                first = json.loads(await ws.recv())
                assert first["type"] == "connected", first
                ready += 1
                if ready == sockets:
                    connected.set()
                with contextlib.suppress(Exception):
                    async for raw in ws:
                        received[n].append((json.loads(raw), time.time()))
                close_codes[n] = ws.close_code

        peak_rss = rss_idle

        async def sample_rss() -> None:
            nonlocal peak_rss
            while True:
                peak_rss = max(peak_rss, srv.rss_mb())
                await asyncio.sleep(0.05)

        sampler = asyncio.create_task(sample_rss())
        connect_start = time.monotonic()
        tasks = [asyncio.create_task(subscriber(n)) for n in range(sockets)]
        await asyncio.wait_for(connected.wait(), 120)
        connect_s = time.monotonic() - connect_start
        rss_connected = srv.rss_mb()
        for blocker in blockers:
            await client.post(f"/v1/jobs/{blocker}/cancel")
        await asyncio.wait_for(asyncio.gather(*tasks), 300)
        sampler.cancel()

    reference = [event for event, _ in received[0]]
    complete = sum(1 for events in received if [e for e, _ in events] == reference)
    latencies = [
        (at - datetime.fromisoformat(event["ts"]).timestamp()) * 1000
        for events in received
        for event, at in events
    ]
    # Per event: when the first and the last socket had it (pipeline vs fan-out spread).
    per_event = [
        [(at - datetime.fromisoformat(e["ts"]).timestamp()) * 1000 for e, at in column]
        for column in zip(*received, strict=False)
    ]
    return {
        "sockets": sockets,
        "events_per_socket": len(reference),
        "last_event": reference[-1]["type"] if reference else None,
        "sockets_with_every_event": complete,
        "normal_closes": close_codes.count(1000),
        "connect_s": connect_s,
        "latencies_ms": latencies,
        "first_ms": [min(c) for c in per_event],
        "last_ms": [max(c) for c in per_event],
        "rss_idle_mb": rss_idle,
        "rss_connected_mb": rss_connected,
        "rss_peak_mb": peak_rss,
    }


def row(name: str, *cells: object) -> str:
    return "| " + " | ".join([name, *(str(c) for c in cells)]) + " |"


def ms(value: float) -> str:
    return f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50.0, help="POST /v1/generations per s")
    parser.add_argument(
        "--status-rates", default="200,500", help="GET /v1/jobs/{id} per s (comma-separated)"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--parts", default="idle,rendering,fanout", help="what to run")
    args = parser.parse_args()

    parts = set(args.parts.split(","))
    status_rates = [float(rate) for rate in args.status_rates.split(",")]
    results: dict[str, dict[str, Run]] = {}
    fan: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="musewave-bench-") as tmp:
        root = Path(tmp)
        if "idle" in parts:
            # One job start per 1,000 s: the warm-up's first job renders, then workers idle.
            env = {"MUSEWAVE_CONCURRENCY": "1", "MUSEWAVE_RATE_LIMIT_PER_S": "0.001"}
            with server(root, "idle", **env) as s, pinned(s):
                results["idle, API and client on 1 core each"] = asyncio.run(
                    enqueue_and_status(s, args.rate, status_rates, args.seconds, settle=True)
                )
        if "rendering" in parts:
            with server(root, "rendering") as s:  # defaults: 2 workers render what we submit
                results["2 workers rendering, all sharing the cores"] = asyncio.run(
                    enqueue_and_status(s, args.rate, status_rates, args.seconds, settle=False)
                )
        if "fanout" in parts:
            with server(root, "fanout", MUSEWAVE_CONCURRENCY="1") as s:
                fan = asyncio.run(fan_out(s, args.sockets))

    print(f"\nMuseWave service benchmark — {os.cpu_count()} CPUs\n")
    print("| measurement | server | requests (ok) | achieved/s | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|")
    for label, runs in results.items():
        titles = {"enqueue": f"POST /v1/generations @ {args.rate:g}/s"}
        titles |= {f"status@{r:g}": f"GET /v1/jobs/{{id}} @ {r:g}/s" for r in status_rates}
        titles["status max"] = "GET /v1/jobs/{id} max (32 in flight)"
        for key, title in titles.items():
            run = runs[key]
            lat = run.latencies_ms
            print(
                row(
                    title,
                    label,
                    f"{run.sent} ({run.ok})",
                    f"{run.throughput:.0f}",
                    ms(statistics.median(lat)),
                    ms(percentile(lat, 99)),
                    ms(max(lat)),
                )
            )
    if fan is None:
        return
    lat = fan["latencies_ms"]
    print()
    print("| WebSocket fan-out | value |")
    print("|---|---|")
    print(row("subscribers (connected in)", f"{fan['sockets']} ({fan['connect_s']:.1f} s)"))
    print(row("events per socket (last)", f"{fan['events_per_socket']} ({fan['last_event']})"))
    print(row("sockets that got every event", fan["sockets_with_every_event"]))
    print(row("sockets closed normally (1000)", fan["normal_closes"]))
    print(row("fan-out latency p50 / p99 / max ms", " / ".join(ms(v) for v in (
        statistics.median(lat), percentile(lat, 99), max(lat))
    )))  # fmt: skip
    print(row("per event: first socket / last socket, median ms", " / ".join(
        ms(statistics.median(fan[k])) for k in ("first_ms", "last_ms")
    )))  # fmt: skip
    print(
        row(
            "server RSS idle / 1,000 connected / peak MB",
            f"{fan['rss_idle_mb']:.0f} / {fan['rss_connected_mb']:.0f} / {fan['rss_peak_mb']:.0f}",
        )
    )


if __name__ == "__main__":
    main()
