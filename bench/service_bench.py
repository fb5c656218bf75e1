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

The status load must not be limited by the client: it comes from ``--clients`` processes
(default 2) that share the schedule, each with a minimal keep-alive HTTP/1.1 client (an
``httpx`` request costs ~1-3 ms of client CPU, more than the server spends on it). The "CPU %"
column shows the API process's and the clients' CPU use during each status run (% of one
core): a client near 100 % would mean the client, not the server, limits the run.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import math
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import psutil
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

T = TypeVar("T")

READY_TIMEOUT_S = 60.0
TRACK = {"duration_s": 30, "formats": ["wav"]}
TERMINAL = ("completed", "failed", "cancelled")
BLOCKERS = 3
IDLE_SAMPLE_S = 1.0  # the fan-out's idle API CPU is measured over this long
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
    """A server with its own data dir (which may hold a prepared database) and ``MUSEWAVE_*``
    overrides; SIGTERM (then SIGKILL) when done."""
    data_dir = root / name
    data_dir.mkdir(exist_ok=True)
    port = _free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEWAVE_")}
    if full_env.get("PYTHONPATH"):  # the server runs in its data dir: a relative path would
        # silently fall back to the installed package
        full_env["PYTHONPATH"] = os.pathsep.join(
            str(Path(entry).resolve()) for entry in full_env["PYTHONPATH"].split(os.pathsep)
        )
    full_env |= {
        "MUSEWAVE_DATA_DIR": str(data_dir),
        "MUSEWAVE_LOG_LEVEL": "warning",
        "MUSEWAVE_RATE_ANONYMOUS": "1000000/minute",  # the load itself is the point here
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
    client_cpu_s: float = 0.0  # CPU time of the client process(es) during the run
    server_cpu_s: float | None = None  # CPU time of the API process during the run

    @property
    def throughput(self) -> float:
        return self.ok / self.seconds

    @staticmethod
    def merge(runs: list[Run]) -> Run:
        return Run(
            sum(run.sent for run in runs),
            sum(run.ok for run in runs),
            max(run.seconds for run in runs),
            [latency for run in runs for latency in run.latencies_ms],
            sum(run.client_cpu_s for run in runs),
        )


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time; responses must carry a
    Content-Length (the API's JSON responses do)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("connection closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length = None
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                self.closed = True
        if length is None:
            self.waiter.set_exception(RuntimeError(f"no Content-Length in {head[0]!r}"))
            return
        if len(self.buffer) < end + 4 + length:
            return
        del self.buffer[: end + 4 + length]
        self.waiter.set_result(int(head[0].split(" ", 2)[1]))

    async def request(self, raw: bytes) -> int:
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise ConnectionError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiter


class LeanClient:
    """GET requests over a pool of at most ``connections`` keep-alive connections."""

    def __init__(self, host: str, port: int, connections: int) -> None:
        self.host, self.port = host, port
        self.free: list[_Connection] = []
        self.slots = asyncio.Semaphore(connections)

    async def get(self, path: str) -> int:
        """The status of ``GET path``."""
        raw = f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode("latin-1")
        async with self.slots:
            connection = self._idle()
            if connection is not None:
                try:
                    return await self._request(connection, raw)
                except ConnectionError:
                    pass  # the server closed it as we sent: once more on a new connection
            return await self._request(await self._connect(), raw)

    async def _request(self, connection: _Connection, raw: bytes) -> int:
        try:
            status = await connection.request(raw)
        except BaseException:
            if connection.transport is not None:
                connection.transport.close()
            raise
        if not connection.closed:
            self.free.append(connection)
        return status

    def _idle(self) -> _Connection | None:
        """The most recently used open connection (the server closes idle ones after 5 s)."""
        while self.free:
            connection = self.free.pop()
            if not connection.closed:
                return connection
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_Connection, self.host, self.port)
        return connection

    def close(self) -> None:
        for connection in self.free:
            if connection.transport is not None:
                connection.transport.close()


async def steady(
    rate: float,
    seconds: float,
    call: Callable[[int], Awaitable[bool]],
    *,
    t0: float | None = None,
    share: tuple[int, int] = (0, 1),
) -> Run:
    """Open loop: call number i starts at t0 + i/rate whatever the earlier ones are doing;
    its latency counts from that scheduled time. With ``share=(k, n)`` this process makes
    only the calls i ≡ k (mod n) of the schedule (``t0`` on ``loop.time()``'s clock).

    Each call's task is made when it is due (not all up front: making thousands of tasks at
    the start would delay the first calls, and count that against the server)."""
    loop = asyncio.get_running_loop()
    total = int(rate * seconds)
    latencies: list[float] = []
    ok = 0
    t0 = loop.time() + 0.05 if t0 is None else t0
    k, n = share

    async def one(i: int, scheduled: float) -> None:
        nonlocal ok
        success = await call(i)
        latencies.append((loop.time() - scheduled) * 1000)
        ok += success

    calls = []
    for i in range(k, total, n):
        scheduled = t0 + i / rate
        if scheduled > loop.time():
            await asyncio.sleep(scheduled - loop.time())
        calls.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*calls)
    return Run(len(calls), ok, loop.time() - t0, latencies)


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


@dataclass(frozen=True)
class StatusLoad:
    """One client process's share of a status run: open loop at ``rate`` (its share ``k`` of
    ``n``), or closed loop with ``workers`` callers when ``rate`` is None; it starts at the
    wall-clock time ``start``."""

    port: int
    paths: list[str]
    seconds: float
    start: float
    share: tuple[int, int]
    rate: float | None = None
    workers: int = 0
    connections: int = 64


def _run_client(main: Coroutine[Any, Any, T]) -> T:
    """Run a client process's work on uvloop (as the server does) when it is installed: the
    client's own event loop costs less of the CPU it shares with the server."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def _status_process(load: StatusLoad) -> Run:
    return _run_client(_status_load(load))


def _client_ready() -> int:
    return os.getpid()


async def _status_load(load: StatusLoad) -> Run:
    loop = asyncio.get_running_loop()
    client = LeanClient("127.0.0.1", load.port, load.connections)

    async def status(i: int) -> bool:
        return await client.get(load.paths[i % len(load.paths)]) == 200

    try:
        # Open the connections before the start (and warm the server's code paths).
        await asyncio.gather(*(client.get(p) for p in load.paths[: load.connections]))
        t0 = loop.time() + (load.start - time.time())
        await asyncio.sleep(max(0.0, t0 - loop.time()))
        cpu = time.process_time()
        if load.rate is None:
            run = await closed_loop(load.workers, load.seconds, status)
        else:
            run = await steady(load.rate, load.seconds, status, t0=t0, share=load.share)
        run.client_cpu_s = time.process_time() - cpu
        return run
    finally:
        client.close()


async def status_from_processes(
    pool: concurrent.futures.Executor,
    clients: int,
    srv: Server,
    paths: list[str],
    seconds: float,
    *,
    rate: float | None = None,
    workers: int = 0,
) -> Run:
    """A status run shared by ``clients`` processes of ``pool`` (their results merged)."""
    loop = asyncio.get_running_loop()
    start = time.time() + 0.5  # time for every process to connect first
    loads = [
        StatusLoad(
            port=srv.port,
            paths=paths,
            seconds=seconds,
            start=start,
            share=(k, clients),
            rate=rate,
            workers=max(1, workers // clients),
            connections=max(1, 64 // clients),
        )
        for k in range(clients)
    ]
    server = psutil.Process(srv.process.pid)
    measured = asyncio.gather(
        *(loop.run_in_executor(pool, _status_process, load) for load in loads)
    )
    await asyncio.sleep(max(0.0, start - time.time()))
    before = server.cpu_times()
    runs = await measured
    after = server.cpu_times()
    run = Run.merge(list(runs))
    run.server_cpu_s = after.user + after.system - before.user - before.system
    return run


async def enqueue_and_status(
    srv: Server,
    rate: float,
    status_rates: list[float],
    seconds: float,
    *,
    settle: bool,
    clients: int = 2,
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
                ids.append(response.json()["id"])
            return response.status_code == 202

        for i in range(20):  # warm up connections and code paths
            await submit(-i)
        if settle:
            await _wait_event(srv, ids[0], lambda e: e["type"] in TERMINAL, 120)
        enqueue = await steady(rate, seconds, submit)

    # Status runs: at most 64 requests in flight in all (open loop), 32 (closed loop).
    paths = [f"/v1/jobs/{job_id}" for job_id in ids]
    spawn = multiprocessing.get_context("spawn")  # children inherit this process's CPU
    with concurrent.futures.ProcessPoolExecutor(clients, mp_context=spawn) as pool:
        await asyncio.gather(
            *(
                asyncio.get_running_loop().run_in_executor(pool, _client_ready)
                for _ in range(clients)
            )
        )
        runs = {"enqueue": enqueue}
        for status_rate in status_rates:
            runs[f"status@{status_rate:g}"] = await status_from_processes(
                pool, clients, srv, paths, seconds, rate=status_rate
            )
        runs["status max"] = await status_from_processes(
            pool, clients, srv, paths, min(seconds, 5.0), workers=32
        )
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


class _Subscriber(asyncio.Protocol):
    """One progress WebSocket, read with websockets' sans-I/O protocol: each message is timed
    as soon as its bytes arrive (kept raw, parsed after the run), so 1,000 sockets cost the
    client a few microseconds a message rather than the asyncio client's ~20."""

    def __init__(self, uri: str, compression: str | None) -> None:
        extensions = [ClientPerMessageDeflateFactory()] if compression == "deflate" else None
        self.protocol = ClientProtocol(parse_uri(uri), extensions=extensions)
        loop = asyncio.get_running_loop()
        self.first: asyncio.Future[str] = loop.create_future()  # the `connected` event
        self.closed: asyncio.Future[None] = loop.create_future()
        self.messages: list[tuple[str, float]] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        at = time.time()  # when the bytes came, before this client spends time on them
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                if self.protocol.handshake_exc is not None and not self.first.done():
                    self.first.set_exception(self.protocol.handshake_exc)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                text = bytes(event.data).decode()
                if self.first.done():
                    self.messages.append((text, at))
                else:
                    self.first.set_result(text)
        self._flush()

    def eof_received(self) -> bool:
        self.protocol.receive_eof()
        self._flush()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.first.done():
            self.first.set_exception(exc or ConnectionError("closed before `connected`"))
        if not self.closed.done():
            self.closed.set_result(None)

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()


@dataclass(frozen=True)
class FanOutShare:
    """One client process's share of the fan-out subscribers; it puts its pid in ``ready``
    once every one of its sockets has had the `connected` event."""

    port: int
    job_id: str
    sockets: int
    ready: Any  # a multiprocessing Manager queue


@dataclass
class FanOutResult:
    messages: list[list[tuple[str, float]]]  # per socket: (raw JSON, receive time)
    close_codes: list[int | None]
    cpu_s: float  # this process's CPU time from `connected` to the last close


def _fan_out_process(share: FanOutShare) -> FanOutResult:
    return _run_client(_fan_out_share(share))


async def _fan_out_share(share: FanOutShare) -> FanOutResult:
    loop = asyncio.get_running_loop()
    uri = f"ws://127.0.0.1:{share.port}/ws/progress/{share.job_id}"
    subscribers = [_Subscriber(uri, COMPRESSION) for _ in range(share.sockets)]

    async def connect_one(subscriber: _Subscriber) -> None:
        await loop.create_connection(lambda: subscriber, "127.0.0.1", share.port)

    await asyncio.gather(*(connect_one(s) for s in subscribers))
    for first in await asyncio.gather(*(s.first for s in subscribers)):
        event = json.loads(first)
        assert event["type"] == "connected", event
    share.ready.put(os.getpid())
    cpu = time.process_time()
    await asyncio.gather(*(s.closed for s in subscribers))
    return FanOutResult(
        [s.messages for s in subscribers],
        [s.protocol.close_code for s in subscribers],
        time.process_time() - cpu,
    )


async def fan_out(srv: Server, sockets: int, clients: int = 2) -> dict[str, Any]:
    """``sockets`` subscribers to one job that starts once all of them are connected, held by
    ``clients`` processes."""
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as client:
        # The only worker renders 120 s tracks (up to BLOCKERS of them) until every socket is
        # connected; the watched job has low priority, so it starts only once they are gone.
        blockers = [
            (
                await client.post(
                    "/v1/generations",
                    json={"prompt": f"busy worker {n}", **TRACK, "duration_s": 120},
                )
            ).json()["id"]
            for n in range(BLOCKERS)
        ]
        await _wait_event(srv, blockers[0], lambda e: e["type"] == "progress", 60)
        body = {"prompt": "fan-out track", "formats": ["mp3", "wav"], "priority": "low"}
        job_id = (await client.post("/v1/generations", json={**body, "duration_s": 30})).json()[
            "id"
        ]

        rss_idle = srv.rss_mb()
        peak_rss = rss_idle

        api = psutil.Process(srv.process.pid)
        cpu_samples: list[tuple[float, float]] = []  # (wall-clock time, API CPU s)

        async def sample_rss() -> None:
            nonlocal peak_rss
            while True:
                peak_rss = max(peak_rss, srv.rss_mb())
                times = api.cpu_times()
                cpu_samples.append((time.time(), times.user + times.system))
                await asyncio.sleep(0.01)

        loop = asyncio.get_running_loop()
        spawn = multiprocessing.get_context("spawn")
        with (
            spawn.Manager() as manager,
            concurrent.futures.ProcessPoolExecutor(clients, mp_context=spawn) as pool,
        ):
            await asyncio.gather(
                *(loop.run_in_executor(pool, _client_ready) for _ in range(clients))
            )
            ready = manager.Queue()
            shares = [
                FanOutShare(srv.port, job_id, sockets // clients + (k < sockets % clients), ready)
                for k in range(clients)
            ]
            sampler = asyncio.create_task(sample_rss())
            connect_start = time.monotonic()
            results = asyncio.gather(
                *(loop.run_in_executor(pool, _fan_out_process, share) for share in shares)
            )
            for _ in shares:  # each process says when all its sockets have had `connected`
                await loop.run_in_executor(None, ready.get, True, 120)
            connect_s = time.monotonic() - connect_start
            rss_connected = srv.rss_mb()
            server = psutil.Process(srv.process.pid)
            # The API's CPU with every socket connected and no event for them: the background
            # work (checks each second, the event pump) that the live phase pays too.
            idle = server.cpu_times()
            await asyncio.sleep(IDLE_SAMPLE_S)
            before = server.cpu_times()
            idle_cpu_per_s = (before.user + before.system - idle.user - idle.system) / IDLE_SAMPLE_S
            watch_start = time.time()
            for blocker in blockers:
                await client.post(f"/v1/jobs/{blocker}/cancel")
            done = await asyncio.wait_for(results, 300)
            after = server.cpu_times()
            sampler.cancel()

    received = [
        [(json.loads(raw), at) for raw, at in messages]
        for share in done
        for messages in share.messages
    ]
    close_codes = [code for share in done for code in share.close_codes]
    # A socket that fell behind gets the job's latest state instead of each step (the bus
    # replaces an unsent progress event with the next one), so sockets are compared by what
    # a client needs: events in order, ending with the job's final event.
    reference = [event for event, _ in max(received, key=len)]
    needed = _milestones(reference)
    every_stage = sum(1 for events in received if _milestones([e for e, _ in events]) == needed)
    complete = sum(1 for events in received if _in_order_to_the_end(events, reference[-1]))
    latencies = [
        (at - datetime.fromisoformat(event["ts"]).timestamp()) * 1000
        for events in received
        for event, at in events
    ]
    # Per event: when the first and the last socket had it (pipeline vs fan-out spread).
    per_event: dict[str, list[float]] = {}
    for events in received:
        for event, at in events:
            sent = datetime.fromisoformat(event["ts"]).timestamp()
            key = "connected" if event["type"] == "connected" else event["ts"]  # one per socket
            per_event.setdefault(key, []).append((at - sent) * 1000)
    counts = sorted(len(events) for events in received)
    # The API's CPU from the start to the first receipt of the final event: the live events'
    # fan-out, without the closing of every socket that follows (sampled every 10 ms).
    final_at = min(at for events in received for event, at in events if event is reference[-1])
    cpu_at_final = max((cpu for t, cpu in cpu_samples if t <= final_at), default=float("nan"))
    cpu_to_final = cpu_at_final - before.user - before.system
    cpu_to_final_above_idle = cpu_to_final - idle_cpu_per_s * (final_at - watch_start)
    return {
        "sockets": sockets,
        "events_per_socket": len(reference),
        "events_per_socket_min_median": (counts[0], counts[len(counts) // 2]),
        "last_event": reference[-1]["type"] if reference else None,
        "sockets_in_order_to_the_end": complete,
        "sockets_with_every_stage": every_stage,
        "normal_closes": close_codes.count(1000),
        "connect_s": connect_s,
        "latencies_ms": latencies,
        "first_ms": [min(c) for c in per_event.values()],
        "last_ms": [max(c) for c in per_event.values()],
        "rss_idle_mb": rss_idle,
        "rss_connected_mb": rss_connected,
        "rss_peak_mb": peak_rss,
        "server_cpu_s": after.user + after.system - before.user - before.system,
        "server_cpu_to_final_s": cpu_to_final,
        "server_cpu_to_final_above_idle_s": cpu_to_final_above_idle,
        "client_cpu_s": sum(share.cpu_s for share in done),
    }


def _in_order_to_the_end(events: list[tuple[dict[str, Any], float]], final: dict[str, Any]) -> bool:
    """Whether a socket's events (after ``connected``) are in time order and end with ``final``."""
    stamps = [event["ts"] for event, _ in events[1:]]
    return bool(events) and stamps == sorted(stamps) and events[-1][0] == final


def _milestones(events: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """The first event of each run of one type and stage: (type, stage, percent)."""
    firsts: list[tuple[str, str, float]] = []
    for event in events:
        if not firsts or firsts[-1][:2] != (event["type"], event["stage"]):
            firsts.append((event["type"], event["stage"], event["progress"]))
    return firsts


def _cpu_cells(run: Run) -> str:
    """CPU use during the run, in % of one core: a client near 100 % is the bottleneck."""
    if run.server_cpu_s is None:
        return "-"
    return (
        f"{100 * run.server_cpu_s / run.seconds:.0f} / {100 * run.client_cpu_s / run.seconds:.0f}"
    )


def _load_average() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


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
    parser.add_argument(
        "--clients",
        type=int,
        default=2,
        help="client processes sharing each status run and the fan-out's sockets",
    )
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
                    enqueue_and_status(
                        s, args.rate, status_rates, args.seconds, settle=True, clients=args.clients
                    )
                )
        if "rendering" in parts:
            with server(root, "rendering") as s:  # defaults: 2 workers render what we submit
                results["2 workers rendering, all sharing the cores"] = asyncio.run(
                    enqueue_and_status(
                        s, args.rate, status_rates, args.seconds, settle=False, clients=args.clients
                    )
                )
        if "fanout" in parts:
            with server(root, "fanout", MUSEWAVE_CONCURRENCY="1") as s:
                fan = asyncio.run(fan_out(s, args.sockets, args.clients))

    print(f"\nMuseWave service benchmark — {os.cpu_count()} CPUs\n")
    print(f"status load: {args.clients} client process(es); load average {_load_average()}\n")
    print(
        "| measurement | server | requests (ok) | achieved/s | p50 ms | p99 ms | max ms "
        "| CPU % API / client |"
    )
    print("|---|---|---|---|---|---|---|---|")
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
                    _cpu_cells(run),
                )
            )
    if fan is None:
        return
    lat = fan["latencies_ms"]
    print()
    print("| WebSocket fan-out | value |")
    print("|---|---|")
    print(row("subscribers (connected in)", f"{fan['sockets']} ({fan['connect_s']:.1f} s)"))
    fewest, median_count = fan["events_per_socket_min_median"]
    print(
        row(
            "events per socket: most / median / fewest (last)",
            f"{fan['events_per_socket']} / {median_count} / {fewest} ({fan['last_event']})",
        )
    )
    print(row("sockets that got events in order and the end", fan["sockets_in_order_to_the_end"]))
    print(row("… of which got every stage change", fan["sockets_with_every_stage"]))
    print(row("sockets closed normally (1000)", fan["normal_closes"]))
    print(row("fan-out latency p50 / p99 / max ms", " / ".join(ms(v) for v in (
        statistics.median(lat), percentile(lat, 99), max(lat))
    )))  # fmt: skip
    print(row("per event: first socket / last socket, median ms", " / ".join(
        ms(statistics.median(fan[k])) for k in ("first_ms", "last_ms")
    )))  # fmt: skip
    events = max(1, fan["events_per_socket"])
    print(
        row(
            "CPU per event, API / clients ms",
            " / ".join(f"{fan[k] * 1000 / events:.1f}" for k in ("server_cpu_s", "client_cpu_s")),
        )
    )
    print(
        row(
            "API CPU per event before the final one (no closes): all / above idle, ms",
            " / ".join(
                f"{fan[k] * 1000 / max(1, events - 1):.1f}"
                for k in ("server_cpu_to_final_s", "server_cpu_to_final_above_idle_s")
            ),
        )
    )
    print(
        row(
            "server RSS idle / 1,000 connected / peak MB",
            f"{fan['rss_idle_mb']:.0f} / {fan['rss_connected_mb']:.0f} / {fan['rss_peak_mb']:.0f}",
        )
    )


if __name__ == "__main__":
    main()
