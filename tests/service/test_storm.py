"""A bounded storm on loopback, all at once against one real server: 1,000 concurrent
submissions, 500 progress sockets opened then aborted, 300 slow clients, and two 100 MB
bodies (declared and chunked). The server must answer each with a clear status (never 5xx),
forget the sockets, close the slow clients, refuse the bodies without reading them, stay live
throughout, keep its memory bounded, and lose no accepted job.

The figures (status histogram, ``/health/live`` latency from a separate process, RSS before,
at peak and after, how soon the socket gauge fell to 0) are printed; the asserted properties
are those that do not depend on how busy this machine is.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import multiprocessing
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.planning.conftest import API_KEY, MODEL
from tests.planning.standins import ModelStandIn, Reply
from tests.service.support import FINISHED_STATES, ServerProcess, launch, track

SUBMISSIONS = 1000
SOCKETS = 500
SLOW_CLIENTS = 300
BIG_BODY_BYTES = 100 * 1024 * 1024
CLIENT_TIMEOUT_S = 5.0
PROBE_PERIOD_S = 0.02
DEADLINE_S = 120.0  # for anything the storm waits on: a bound, not a measurement


@dataclass
class Figures:
    statuses: Counter[str] = field(default_factory=Counter)
    accepted: list[str] = field(default_factory=list)
    gauge_zero_after_s: float | None = None
    slow_closed: int = 0
    slow_open_s: list[float] = field(default_factory=list)
    big_body: list[tuple[str, int, float]] = field(default_factory=list)  # outcome, sent, s


# --- /health/live, probed from another process (the storm's client loop is busy) -----------


def _probe(port: int, stop: Connection, out: Connection) -> None:
    latencies: list[float] = []
    failures = 0
    while not stop.poll(PROBE_PERIOD_S):
        start = time.perf_counter()
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/health/live")
            ok = connection.getresponse().status == 200
            connection.close()
        except OSError:
            ok = False
        if ok:
            latencies.append(time.perf_counter() - start)
        else:
            failures += 1
    out.send((latencies, failures))


class Prober:
    def __init__(self, port: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._stop_reader, self._stop = context.Pipe(duplex=False)
        self._results, out = context.Pipe(duplex=False)
        self.process = context.Process(target=_probe, args=(port, self._stop_reader, out))

    def __enter__(self) -> Prober:
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.is_alive():
            self.process.kill()

    def results(self) -> tuple[list[float], int]:
        self._stop.send(True)
        latencies, failures = self._results.recv()
        self.process.join()
        return latencies, failures


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.before = self.process.memory_info().rss
        self.peak = self.before
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def stop(self) -> int:
        self._done.set()
        self.join()
        return self.process.memory_info().rss


# --- the storm's parts ------------------------------------------------------------------


async def submit_all(client: httpx.AsyncClient, figures: Figures) -> None:
    async def one(i: int) -> None:
        try:
            response = await client.post("/v1/generations", json=track(f"storm {i}"))
        except httpx.HTTPError as error:
            figures.statuses[f"submit {type(error).__name__}"] += 1
            return
        figures.statuses[f"submit {response.status_code}"] += 1
        if response.status_code == 202:
            figures.accepted.append(response.json()["id"])

    await asyncio.gather(*(one(i) for i in range(SUBMISSIONS)))


async def websocket_gauge(client: httpx.AsyncClient) -> float:
    text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("musewave_websocket_connections "):
            return float(line.split()[1])
    raise AssertionError("no musewave_websocket_connections in /metrics")


async def open_then_abort_sockets(
    server: ServerProcess, client: httpx.AsyncClient, job_id: str, figures: Figures
) -> None:
    async def open_one() -> ClientConnection:
        socket = await connect(server.ws_url(job_id), open_timeout=DEADLINE_S)
        first = json.loads(await socket.recv())
        assert first["type"] == "connected"
        return socket

    sockets = await asyncio.gather(*(open_one() for _ in range(SOCKETS)))
    gauge = await websocket_gauge(client)
    state = (await client.get(f"/v1/jobs/{job_id}")).json()["state"]
    assert gauge >= SOCKETS, f"{gauge} sockets counted; the held job is {state}"
    aborted = time.monotonic()
    for socket in sockets:
        socket.transport.abort()  # no close frame: the client just vanishes
    while await websocket_gauge(client) > 0:
        assert time.monotonic() - aborted < DEADLINE_S, "aborted sockets stay registered"
        await asyncio.sleep(0.01)
    figures.gauge_zero_after_s = time.monotonic() - aborted
    figures.statuses["websocket opened and aborted"] += len(sockets)


async def slow_client(port: int, figures: Figures) -> None:
    """Trickle a header a byte every half second until the server closes the connection:
    with a 408, or (when the 408 crossed a byte still being sent) with a reset."""
    opened = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
        while True:
            writer.write(b"X")
            await writer.drain()
            try:
                # What has come so far, not all until EOF: a read to EOF cancelled by the
                # timeout loses the 408 it had taken when the close comes later than that.
                answer = await asyncio.wait_for(reader.read(4096), 0.5)
            except TimeoutError:
                assert time.monotonic() - opened < DEADLINE_S, "a slow client was never closed"
                continue
            status = answer.split(b" ")[1].decode() if answer else "closed"
            figures.statuses[f"slow client {status}"] += 1
            break
        writer.close()
    except ConnectionError:
        figures.statuses["slow client reset"] += 1
    figures.slow_closed += 1
    figures.slow_open_s.append(time.monotonic() - opened)


async def big_body(port: int, chunked: bool, figures: Figures) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BIG_BODY_BYTES}"
    writer.write(
        (
            f"POST /v1/generations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\n{framing}\r\n\r\n"
        ).encode()
    )
    started = time.monotonic()
    chunk = b"a" * 65536
    frame = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk
    sent = 0
    answer = asyncio.ensure_future(reader.read(4096))
    try:
        while sent < BIG_BODY_BYTES and not answer.done():
            writer.write(frame)
            await writer.drain()
            sent += len(chunk)
        head = await asyncio.wait_for(answer, DEADLINE_S)
        outcome = head.split(b" ")[1].decode() if head else "closed"
    except ConnectionError:
        # The server answered 413 and lingered (5 s) for this client, which was too busy
        # with the rest of the storm to read it before the close.
        outcome = "reset"
    figures.big_body.append((outcome, sent, time.monotonic() - started))
    figures.statuses[f"100 MB body {outcome}"] += 1
    writer.close()


async def cancel_and_wait(client: httpx.AsyncClient, job_ids: list[str]) -> dict[str, str]:
    """Cancel every job (waiting out 429s: cancels count against the ingress ceiling too),
    then wait until each has ended; the final states by job."""
    for job_id in job_ids:
        while True:
            response = await client.post(f"/v1/jobs/{job_id}/cancel")
            if response.status_code != 429:
                assert response.status_code in (202, 409), response.text
                break
            await asyncio.sleep(float(response.headers["retry-after"]))
    started = time.monotonic()
    states: dict[str, str] = {}
    while True:
        for job_id in job_ids:
            if states.get(job_id) not in FINISHED_STATES:
                states[job_id] = (await client.get(f"/v1/jobs/{job_id}")).json()["state"]
        if all(state in FINISHED_STATES for state in states.values()):
            return states
        assert time.monotonic() - started < DEADLINE_S, Counter(states.values())
        await asyncio.sleep(0.2)


async def storm(server: ServerProcess, model: ModelStandIn, figures: Figures) -> dict[str, str]:
    # Idle connections are dropped after 1 s, well inside the server's 5 s keep-alive: a
    # request sent on a connection the server is closing at that instant gets no answer at
    # all (RemoteProtocolError), a race of HTTP/1.1 keep-alive rather than of the server.
    limits = httpx.Limits(
        max_connections=SUBMISSIONS, max_keepalive_connections=50, keepalive_expiry=1.0
    )
    timeout = httpx.Timeout(DEADLINE_S)
    async with httpx.AsyncClient(
        base_url=server.base_url, limits=limits, timeout=timeout
    ) as client:
        # The one render slot is held by the blocker, whose plan waits on the model stand-in
        # until the storm is over, and the held job is low priority: it stays queued (and its
        # sockets open) for the whole storm, however fast or slow this machine is.
        blocker = await client.post("/v1/generations", json=track("blocker"))
        waiting = await client.post("/v1/generations", json={**track("held"), "priority": "low"})
        waiting_id = waiting.json()["id"]
        await asyncio.gather(
            submit_all(client, figures),
            open_then_abort_sockets(server, client, waiting_id, figures),
            *(slow_client(server.port, figures) for _ in range(SLOW_CLIENTS)),
            big_body(server.port, chunked=False, figures=figures),
            big_body(server.port, chunked=True, figures=figures),
        )
        model.release()  # the blocker's plan falls back to the rules; every job is cancelled
        held = [blocker.json()["id"], waiting_id]
        return await cancel_and_wait(client, [*held, *figures.accepted])


@pytest.fixture
def model() -> Iterator[ModelStandIn]:
    """A model that holds every plan until released."""
    with ModelStandIn([Reply("hang")], hang_s=DEADLINE_S) as stand_in:
        yield stand_in


@pytest.fixture
def storm_server(tmp_path: Path, model: ModelStandIn) -> Iterator[ServerProcess]:
    env = {
        "MUSEWAVE_CONCURRENCY": "1",
        "MUSEWAVE_CLIENT_TIMEOUT_S": str(CLIENT_TIMEOUT_S),
        "MUSEWAVE_RATE_INGRESS": "100/second",  # the real default ceiling, under test too
        "MUSEWAVE_LLM_PROVIDER": "gemini",
        "MUSEWAVE_GEMINI_API_KEY": API_KEY,
        "MUSEWAVE_LLM_MODEL": MODEL,
        "MUSEWAVE_LLM_BASE_URL": model.url,
        "MUSEWAVE_BREAKER_LLM_TIMEOUT_S": str(DEADLINE_S),
    }
    server = launch(tmp_path / "data", tmp_path / "server.log", env)
    yield server
    server.stop()


def test_the_server_weathers_a_storm(storm_server: ServerProcess, model: ModelStandIn) -> None:
    figures = Figures()
    rss = RssSampler(storm_server.pid)
    rss.start()
    with Prober(storm_server.port) as prober:
        final_states = asyncio.run(storm(storm_server, model, figures))
        latencies, probe_failures = prober.results()
    rss_after = rss.stop()

    mb = 1024 * 1024
    p50 = statistics.median(latencies) * 1000
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    print(
        f"\nstatuses: {dict(sorted(figures.statuses.items()))}"
        f"\n/health/live during the storm: {len(latencies)} probes, p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, max {max(latencies) * 1000:.1f} ms, failures {probe_failures}"
        f"\nRSS MB before {rss.before / mb:.0f}, peak {rss.peak / mb:.0f}, "
        f"after {rss_after / mb:.0f}"
        f"\nsocket gauge at 0 {figures.gauge_zero_after_s:.3f} s after the aborts; slow clients "
        f"closed after {min(figures.slow_open_s):.1f}-{max(figures.slow_open_s):.1f} s"
        f"\n100 MB bodies (status, bytes sent, s): {figures.big_body}"
        f"\naccepted {len(figures.accepted)} jobs; final states {Counter(final_states.values())}"
    )
    # Every submission got a clear answer: accepted, or over the ingress ceiling.
    # A 408 is the server's clear answer to a request this client, busy with the rest of the
    # storm, did not finish sending within the client timeout.
    assert set(figures.statuses) <= {
        "submit 202",
        "submit 429",
        "submit 408",
        "websocket opened and aborted",
        "slow client 408",
        "slow client reset",
        "100 MB body 413",
        "100 MB body 408",
        "100 MB body reset",
    }, figures.statuses
    answered = ("submit 202", "submit 429", "submit 408")
    assert sum(figures.statuses[status] for status in answered) == SUBMISSIONS
    assert figures.accepted, "the ceiling let nothing through"
    assert figures.slow_closed == SLOW_CLIENTS
    assert figures.statuses["slow client 408"] > 0
    # Neither body was read: refused (413, or the close after it) before most of it was sent.
    assert all(outcome in ("413", "408", "reset") for outcome, _, _ in figures.big_body)
    assert all(sent < BIG_BODY_BYTES * 0.7 for _, sent, _ in figures.big_body)
    assert rss.peak - rss.before < 300 * mb
    # Live throughout, and nothing accepted was lost: each job ended (cancelled here).
    assert probe_failures == 0
    assert all(state in FINISHED_STATES for state in final_states.values())
    assert len(final_states) == len(figures.accepted) + 2
