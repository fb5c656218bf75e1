"""Worker processes for the local backend, owned by the ``musewave serve`` process.

Rendering is CPU-bound, so it runs in separate processes (spawned, never forked from a process
holding database connections or an event loop). Each process claims jobs from the shared SQL
queue and sends progress events back through one pipe (:class:`EventPipe`); the owner wakes idle
workers with a semaphore when it enqueues, so a new job starts at once instead of at the next poll.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnContext
from multiprocessing.synchronize import Event as EventType
from multiprocessing.synchronize import Semaphore as SemaphoreType
from typing import Any

from musewave.config import Settings
from musewave.engine.memory import limit_malloc_arenas
from musewave.jobs.events import JobEvent
from musewave.observability.logging import configure_logging, get_logger
from musewave.observability.tracing import configure_tracing

log = get_logger(__name__)

IDLE_POLL_S = 1.0  # also re-checks delayed (backing-off) jobs at least this often
STOP_DRAIN_S = 5.0  # bounds the last read, should a pipe never see its end
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to kill this worker if the server dies (kill -9 included): an orphan must not
    keep rendering a job the restarted server will hand to a new worker."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def begin_worker_process(settings_data: dict[str, Any]) -> Settings:
    """What every worker process does first: die with its owner, leave the decision to stop
    to it, and log and trace as configured. Returns the settings."""
    die_with_parent()
    limit_malloc_arenas()  # renders use threads; their arenas would keep freed tracks
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    settings = Settings.model_validate(settings_data)
    configure_logging(settings)
    configure_tracing("musewave-worker")
    return settings


class EventPipe:
    """One worker process's job events to its owner, written by the thread that emits them.

    A ``multiprocessing.Queue`` hands each event to a feeder thread of the worker, which
    needs the worker's GIL to pickle and write it: while a render holds the GIL, the event
    waits (5 ms at least, the interpreter's switch interval), and so does every progress
    socket. Here the emitting thread writes the event itself; an event is a few hundred
    bytes, so the write does not block while the owner reads. Each process has a pipe of its
    own, so no lock is shared between processes (a worker killed while writing could hold
    one forever); a thread lock keeps the messages of one worker's threads whole. Only the
    writing end goes to the worker; a replaced worker gets a new pipe.
    """

    def __init__(self, ctx: SpawnContext) -> None:
        self.reader, self._writer = ctx.Pipe(duplex=False)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"_writer": self._writer}  # the worker needs neither the reader nor our lock

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._writer = state["_writer"]
        self._lock = threading.Lock()

    def put(self, event: JobEvent) -> None:
        """Send ``event`` (in a worker). With the owner gone there is no one to tell: the
        worker dies with it."""
        with self._lock, contextlib.suppress(OSError):
            self._writer.send(event)

    def close_writer(self) -> None:
        """Close the owner's copy of the writing end (once the worker has its own), so that
        the reader sees the end of the stream when the worker exits."""
        self._writer.close()


def worker_id_prefix(pid: int) -> str:
    """What every job id a worker process claims with starts with (one id per slot)."""
    return f"{socket.gethostname()}:{pid}:"


def worker_main(
    settings_data: dict[str, Any],
    slot: int,
    events: EventPipe,
    wake: SemaphoreType,
    stop: EventType,
) -> None:
    """Entry point of one worker process: claim, run, repeat until ``stop`` is set."""
    settings = begin_worker_process(settings_data)
    # After spawn: the heavy imports happen here, in the worker.
    from musewave.jobs.local_scheduler import LocalScheduler
    from musewave.jobs.queue import open_store
    from musewave.jobs.runner import JobRunner, job_breakers
    from musewave.planning import Planner
    from musewave.storage import open_storage

    worker_id = f"{worker_id_prefix(os.getpid())}{slot}"
    breakers = job_breakers(settings)
    planner = Planner.from_settings(settings, breakers)
    with open_store(settings) as store:
        scheduler = LocalScheduler(store, rate_limit_per_s=settings.rate_limit_per_s)
        runner = JobRunner(
            store,
            open_storage(settings.storage_dir),
            worker_id,
            lease_ms=settings.lease_ms,
            emit=events.put,
            fail_attempts=settings.test_fail_attempts,
            breakers=breakers,
            planner=planner,
        )
        try:
            while not stop.is_set():
                job = scheduler.claim(worker_id, settings.lease_ms)
                if job is not None:
                    runner.run(job)
                    continue
                timeout = IDLE_POLL_S
                due = scheduler.next_run_after()
                if due is not None:
                    timeout = max(0.01, min(timeout, (due - datetime.now(UTC)).total_seconds()))
                wake.acquire(timeout=timeout)
        finally:
            planner.close()
            runner.breakers.close()


WorkerMain = Callable[[dict[str, Any], int, Any, SemaphoreType, EventType], None]


class LocalWorkerPool:
    """``concurrency`` worker processes plus a thread that forwards their events.

    ``target`` is each process's entry point, called with the settings (as JSON data), its
    slot number, the event queue, the wake-up semaphore and the stop event: by default
    :func:`worker_main` (the local SQL queue); ``musewave worker`` passes the BullMQ one.
    """

    def __init__(
        self,
        settings: Settings,
        on_event: Callable[[JobEvent], None],
        target: WorkerMain | None = None,
    ):
        self.settings = settings
        self.on_event = on_event
        self._target = target or worker_main
        self._ctx = mp.get_context("spawn")
        # The readers of live and exited workers' pipes; one is dropped once drained to its end.
        self._readers: set[Connection] = set()
        self._readers_lock = threading.Lock()
        self._wake = self._ctx.Semaphore(0)
        self._stop = self._ctx.Event()
        self._processes: list[Any] = []
        self._pump: threading.Thread | None = None
        self._pumping = threading.Event()

    def _spawn(self, slot: int) -> Any:
        events = EventPipe(self._ctx)
        process = self._ctx.Process(
            target=self._target,
            args=(
                self.settings.process_data(),
                slot,
                events,
                self._wake,
                self._stop,
            ),
            name=f"musewave-worker-{slot}",
            daemon=True,
        )
        process.start()
        events.close_writer()
        with self._readers_lock:
            self._readers.add(events.reader)
        return process

    def start(self) -> None:
        self._processes = [self._spawn(slot) for slot in range(self.settings.concurrency)]
        self._pumping.set()
        self._pump = threading.Thread(target=self._forward_events, daemon=True)
        self._pump.start()

    def _forward_events(self) -> None:
        while self._pumping.is_set():
            self._drain(timeout_s=0.2)

    def _drain(self, timeout_s: float) -> None:
        """Forward what the workers have sent within ``timeout_s``; a pipe whose worker has
        exited is read to its end, then closed."""
        with self._readers_lock:
            readers = list(self._readers)
        for reader in wait(readers, timeout_s):
            assert isinstance(reader, Connection)
            try:
                event = reader.recv()
            except (EOFError, OSError):  # the worker exited and all it said was read
                with self._readers_lock:
                    self._readers.discard(reader)
                reader.close()
                continue
            except Exception:  # a message cut short (a worker killed mid-write)
                log.warning("job event unreadable; dropped", exc_info=True)
                continue
            self.on_event(event)

    def replace_dead(self) -> list[int]:
        """Restart worker processes that exited on their own (crash, OOM kill). Returns their
        pids, whose jobs the caller must put back in the queue."""
        if self._stop.is_set():
            return []
        dead: list[int] = []
        for slot, process in enumerate(self._processes):
            if process.is_alive():
                continue
            process.join()
            dead.append(process.pid)
            self._processes[slot] = self._spawn(slot)
        return dead

    def notify(self) -> None:
        """A job was enqueued: wake one idle worker."""
        self._wake.release()

    def alive(self) -> int:
        return sum(1 for p in self._processes if p.is_alive())

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._processes if p.pid is not None]

    def stop(self, grace_s: float) -> list[int]:
        """Let workers finish their current job for up to ``grace_s``; kill the rest. Returns
        the pids that had to be killed (their jobs must go back to the queue)."""
        self._stop.set()
        for _ in self._processes:
            self._wake.release()
        deadline = time.monotonic() + grace_s
        killed: list[int] = []
        for process in self._processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                killed.append(process.pid)
                process.kill()
                process.join()
        self._pumping.clear()
        if self._pump is not None:
            self._pump.join()
        # What the workers said before they stopped, to each pipe's end (all have exited).
        deadline = time.monotonic() + STOP_DRAIN_S
        while self._readers and time.monotonic() < deadline:
            self._drain(timeout_s=0.2)
        return killed
