"""Helpers for the end-to-end service tests: a real ``musewave serve`` process and its clients.

Nothing here sleeps to wait for something to happen: progress is awaited as WebSocket or SSE
messages. Only the server's readiness (no event exists for it) is polled, with a deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy
import sqlalchemy.pool
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

Event = dict[str, Any]
Predicate = Callable[[Event], bool]

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
EVENT_TIMEOUT_S = 90.0
STAGES = ("planning", "composing", "rendering", "mixing", "mastering", "encoding", "validating")
TERMINAL_TYPES = frozenset({"completed", "failed", "cancelled"})
FINISHED_STATES = frozenset({"completed", "failed", "cancelled", "dead"})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unique(text: str) -> str:
    """A prompt nobody else in the session uses (so seeded requests never hit another's cache)."""
    return f"{text} {uuid.uuid4().hex[:8]}"


@dataclass
class ServerProcess:
    """One ``python -m musewave.cli serve`` subprocess on 127.0.0.1."""

    port: int
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    # Production mode: the `musewave worker` processes that render this server's jobs.
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def backend(self) -> str:
        return "bullmq" if self.env.get("MUSEWAVE_REDIS_URL") else "local"

    @property
    def database_url(self) -> str:
        return self.env.get("MUSEWAVE_DATABASE_URL") or f"sqlite:///{self.data_dir}/musewave.db"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, job_id: str) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/progress/{job_id}"

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, **{"timeout": 30.0, **kwargs})

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM, then SIGKILL after ``timeout_s`` (workers too). Returns the server's status."""
        for process in [self.process, *self.workers]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers:
            _wait_or_kill(process, timeout_s)
        return _wait_or_kill(self.process, timeout_s)

    def kill9(self) -> None:
        self.process.kill()
        self.process.wait()

    def db(self) -> sqlite3.Connection:
        """A read connection on the server's SQLite file (for checks the API cannot make)."""
        return sqlite3.connect(self.data_dir / "musewave.db", timeout=30)


def same_stores(server: ServerProcess) -> dict[str, str]:
    """The settings that point a restarted server at ``server``'s database and queue."""
    keys = ("MUSEWAVE_DATABASE_URL", "MUSEWAVE_REDIS_URL", "MUSEWAVE_QUEUE_NAME")
    return {key: server.env[key] for key in keys if key in server.env}


def _wait_or_kill(process: subprocess.Popen[bytes], timeout_s: float) -> int:
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def start_worker(server: ServerProcess) -> subprocess.Popen[bytes]:
    """One more ``musewave worker`` (production mode) with the server's settings."""
    with server.log_path.open("ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "musewave.cli", "worker"],
            env=server.env,
            cwd=server.data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server.workers.append(worker)
    return worker


def launch(data_dir: Path, log_path: Path, env: dict[str, str] | None = None) -> ServerProcess:
    """Start a server on a free port with ``data_dir`` and ``MUSEWAVE_*`` overrides ``env``;
    return once ``/health/ready`` answers 200. With ``MUSEWAVE_REDIS_URL`` in ``env``
    (production mode) a ``musewave worker`` is started for it too."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEWAVE_")}
    full_env.update(
        {
            "MUSEWAVE_DATA_DIR": str(data_dir),
            "MUSEWAVE_LOG_LEVEL": "warning",
            # Tests submit far faster than a person: their own rate-limit tests set these.
            "MUSEWAVE_RATE_ANONYMOUS": "100000/minute",
            "MUSEWAVE_RATE_GENERATIONS": "100000/minute",
            "MUSEWAVE_RATE_SUGGESTIONS": "100000/minute",
            "MUSEWAVE_RATE_INGRESS": "100000/second",
            # `musewave worker` serves no /metrics unless a test asks: workers would share a port.
            "MUSEWAVE_METRICS_PORT": "0",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    full_env.update(env or {})
    log = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "musewave.cli", "serve", "--port", str(port)],
        env=full_env,
        cwd=data_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    server = ServerProcess(port, data_dir, full_env, process, log_path)
    try:
        if server.backend == "bullmq":
            start_worker(server)
        wait_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def wait_ready(server: ServerProcess, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Poll ``/health/ready`` (a short bounded loop: readiness has no event to await)."""
    deadline = time.monotonic() + timeout_s
    with server.client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if not server.running():
                raise RuntimeError(f"server exited early:\n{server.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if client.get("/health/ready").status_code == 200 and _workers_ready(
                    server, client
                ):
                    return
            time.sleep(0.1)
    raise RuntimeError(f"server not ready after {timeout_s} s:\n{server.log_tail()}")


def _workers_ready(server: ServerProcess, client: httpx.Client) -> bool:
    """Production mode: every worker process slot has connected to the queue."""
    if server.backend == "local":
        return True
    wanted = len(server.workers) * int(server.env.get("MUSEWAVE_CONCURRENCY", "2"))
    queue = client.get("/health").json()["components"]["queue"]
    return int(queue.get("workers_alive", 0)) >= wanted


# --- requests -------------------------------------------------------------------------------


def track(prompt: str, **fields: Any) -> dict[str, Any]:
    """A cheap request body: 30 s (the API minimum), WAV only, unless ``fields`` say otherwise."""
    return {"prompt": unique(prompt), "duration_s": 30, "formats": ["wav"], **fields}


def long_track(prompt: str) -> dict[str, Any]:
    """A request body that keeps a worker busy for seconds (a 120 s track, two formats): put
    it ahead of a job that must still be queued while the test looks at it."""
    return track(prompt, duration_s=120, formats=["mp3", "wav"])


def submit(
    client: httpx.Client,
    body: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    path: str = "/v1/generations",
    expect: int = 202,
) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == expect, response.text
    data: dict[str, Any] = response.json()
    return data


def get_job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def cancel(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.post(f"/v1/jobs/{job_id}/cancel")
    assert response.status_code == 202, response.text
    data: dict[str, Any] = response.json()
    return data


# --- event streams --------------------------------------------------------------------------


def is_terminal(event: Event) -> bool:
    return event["type"] in TERMINAL_TYPES


def of_type(*types: str) -> Predicate:
    return lambda event: event["type"] in types


def at_stage(stage: str) -> Predicate:
    return lambda event: event["type"] == "progress" and event["stage"] == stage


def reached(stage: str) -> Predicate:
    """The job runs at ``stage`` or a later one: a progress event, or the snapshot of an
    active job that a stream connected to late (a stage may be over by then, or its last
    update sent)."""
    floor = STAGES.index(stage)

    def predicate(event: Event) -> bool:
        if event["type"] == "connected" and event["message"] != "active":
            return False
        return event["type"] in ("connected", "progress") and (
            event["stage"] in STAGES and STAGES.index(event["stage"]) >= floor
        )

    return predicate


started = reached(STAGES[0])  # the job runs (planning and composing take milliseconds)


@dataclass
class _Collector:
    """Events of one job as a background thread receives them, with the time each arrived."""

    job_id: str
    events: list[Event] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)  # time.time() per event
    close_code: int | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    on_event: Callable[[Event], None] | None = None  # called on the receiving thread
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _add(self, event: Event) -> None:
        with self._changed:
            self.events.append(event)
            self.received_at.append(time.time())
            self._changed.notify_all()
        if self.on_event is not None:
            self.on_event(event)

    def _finish(self) -> None:
        with self._changed:
            self.done.set()
            self._changed.notify_all()

    def wait_for(self, predicate: Predicate, timeout_s: float = EVENT_TIMEOUT_S) -> Event:
        """The first event (already received or still to come) matching ``predicate``."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            seen = 0
            while True:
                for event in self.events[seen:]:
                    if predicate(event):
                        return event
                seen = len(self.events)
                remaining = deadline - time.monotonic()
                if self.done.is_set() or remaining <= 0:
                    raise AssertionError(
                        f"job {self.job_id}: no matching event "
                        f"({'stream ended' if self.done.is_set() else 'timed out'}; "
                        f"close code {self.close_code}, error {self.error!r}); got "
                        f"{[(e['type'], e['stage']) for e in self.events]}"
                    )
                self._changed.wait(remaining)

    def wait_done(self, timeout_s: float = EVENT_TIMEOUT_S) -> list[Event]:
        """Every event, once the stream has ended."""
        if not self.done.wait(timeout_s):
            raise AssertionError(
                f"job {self.job_id}: stream still open after {timeout_s} s; got "
                f"{[(e['type'], e['stage']) for e in self.events]}"
            )
        return list(self.events)


class WsWatcher(_Collector):
    """A WebSocket client of ``/ws/progress/{job_id}`` on its own thread.

    Entering returns once the ``connected`` event arrived, i.e. once the server subscribed
    this socket: from then on, no event of the job is missed.
    """

    def __init__(
        self,
        server: ServerProcess,
        job_id: str,
        *,
        wait_connected: bool = True,
        on_event: Callable[[Event], None] | None = None,
    ):
        super().__init__(job_id, on_event=on_event)
        self._url = server.ws_url(job_id)
        self._wait_connected = wait_connected
        self._socket: ClientConnection | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WsWatcher:
        self._socket = connect(self._url, open_timeout=10, max_size=2**22, legacy=True)
        self._thread.start()
        if self._wait_connected:
            self.wait_for(of_type("connected"), timeout_s=10)
        return self

    def __exit__(self, *_: object) -> None:
        if self._socket is not None:
            self._socket.close()
        self._thread.join(10)

    def _run(self) -> None:
        assert self._socket is not None
        try:
            while True:
                self._add(json.loads(self._socket.recv()))
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd is not None else None
        except BaseException as error:  # surfaced through wait_for's message
            self.error = error
        finally:
            self._finish()


class SseWatcher(_Collector):
    """An SSE client of ``GET /v1/jobs/{job_id}/events`` on its own thread. ``frames`` keeps
    each frame's ``event:`` name; ``content_type`` the response's media type."""

    def __init__(self, server: ServerProcess, job_id: str, *, wait_connected: bool = True):
        super().__init__(job_id)
        self.frame_names: list[str] = []
        self.content_type = ""
        self.status_code = 0
        self._server = server
        self._wait_connected = wait_connected
        self._client = httpx.Client(base_url=server.base_url, timeout=httpx.Timeout(30, read=60))
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SseWatcher:
        self._thread.start()
        if self._wait_connected:
            self.wait_for(of_type("connected"), timeout_s=10)
        return self

    def __exit__(self, *_: object) -> None:
        self._client.close()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            with self._client.stream("GET", f"/v1/jobs/{self.job_id}/events") as response:
                self.status_code = response.status_code
                self.content_type = response.headers.get("content-type", "")
                name, data = "message", ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        name = line.removeprefix("event:").strip()
                    elif line.startswith("data:"):
                        data += line.removeprefix("data:").strip()
                    elif not line and data:
                        self.frame_names.append(name)
                        self._add(json.loads(data))
                        name, data = "message", ""
        except BaseException as error:
            self.error = error
        finally:
            self._finish()


@contextlib.contextmanager
def busy_worker(server: ServerProcess, client: httpx.Client) -> Iterator[str]:
    """Keep the only worker of a concurrency-1 server busy with a 120 s track (the API maximum)
    until the block ends; then cancel it (it stops at the engine's next checkpoint) and wait
    for it to stop. Yields the busy job's id."""
    job_id = submit(client, track("occupying the worker", duration_s=120))["id"]
    with WsWatcher(server, job_id) as watcher:
        try:
            watcher.wait_for(reached("rendering"))
            yield job_id
        finally:
            if not watcher.done.is_set():
                cancel(client, job_id)
            watcher.wait_for(is_terminal)


def stages_in_order(events: list[Event]) -> list[str]:
    """Progress stages with repeats collapsed: ``planning, planning, composing`` → two."""
    stages: list[str] = []
    for event in events:
        if event["type"] == "progress" and (not stages or stages[-1] != event["stage"]):
            stages.append(event["stage"])
    return stages


def asset_rows(server: ServerProcess, job_id: str) -> list[tuple[str, str]]:
    """``(name, path)`` of every asset row the database holds for ``job_id``."""
    engine = sqlalchemy.create_engine(server.database_url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sqlalchemy.text("SELECT name, path FROM assets WHERE job_id = :id"), {"id": job_id}
            ).all()
    finally:
        engine.dispose()
    return [(str(name), str(path)) for name, path in rows]


def job_row(server: ServerProcess, job_id: str) -> dict[str, Any]:
    """The job's row straight from the database (works while the server is down)."""
    with contextlib.closing(server.db()) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert row is not None, job_id
    return dict(row)
