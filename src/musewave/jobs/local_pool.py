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
SEND_TIMEOUT_S = 5.0
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
    """Job events from worker processes to their owner, written by the thread that emits them.

    A ``multiprocessing.Queue`` hands each event to a feeder thread of the worker, which
    needs the worker's GIL to pickle and write it: while a render holds the GIL, the event
    waits (5 ms at least, the interpreter's switch interval), and so does every progress
    socket. Here the emitting thread writes the event itself; an event is a few hundred
    bytes, so the write does not block while the owner reads. The lock keeps the messages of
    several workers whole; a worker that cannot have it within :data:`SEND_TIMEOUT_S` (one
    killed while writing held it) drops the event: the job's record is still written, and
    streams end with its final state (the server checks finished jobs every second).
    """

    def __init__(self, ctx: SpawnContext) -> None:
        self._reader, self._writer = ctx.Pipe(duplex=False)
        self._lock = ctx.Lock()

    def put(self, event: JobEvent) -> None:
        """Send ``event`` (in a worker)."""
        if not self._lock.acquire(timeout=SEND_TIMEOUT_S):
            log.warning("job event dropped: the event pipe stays locked", job_id=event.job_id)
            return
        try:
            self._writer.send(event)
        finally:
            self._lock.release()

    def get(self, timeout_s: float) -> JobEvent | None:
        """The next event (in the owner), or None if none came within ``timeout_s``."""
        if not self._reader.poll(timeout_s):
            return None
        event: JobEvent = self._reader.recv()
        return event


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
        self._events = EventPipe(self._ctx)
        self._wake = self._ctx.Semaphore(0)
        self._stop = self._ctx.Event()
        self._processes: list[Any] = []
        self._pump: threading.Thread | None = None
        self._pumping = threading.Event()

    def _spawn(self, slot: int) -> Any:
        process = self._ctx.Process(
            target=self._target,
            args=(
                self.settings.process_data(),
                slot,
                self._events,
                self._wake,
                self._stop,
            ),
            name=f"musewave-worker-{slot}",
            daemon=True,
        )
        process.start()
        return process

    def start(self) -> None:
        self._processes = [self._spawn(slot) for slot in range(self.settings.concurrency)]
        self._pumping.set()
        self._pump = threading.Thread(target=self._forward_events, daemon=True)
        self._pump.start()

    def _forward_events(self) -> None:
        while self._pumping.is_set():
            event = self._events.get(timeout_s=0.2)
            if event is not None:
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
        while (event := self._events.get(timeout_s=0)) is not None:
            self.on_event(event)  # what the workers said before they stopped
        return killed
