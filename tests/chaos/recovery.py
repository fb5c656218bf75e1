"""SIGKILL for the worker process that holds a job, and a clock for how long BullMQ takes to
hand that job to another worker."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from dataclasses import dataclass

import psutil

from tests.chaos.stores import Stores
from tests.service.support import ServerProcess

POLL_S = 0.05


@dataclass(frozen=True)
class Kill:
    job_id: str
    worker_id: str  # "<host>:<pid>:<slot>" of the killed process
    stage: str
    at: float  # time.monotonic() right after the SIGKILL


def worker_children(server: ServerProcess) -> dict[int, psutil.Process]:
    """The job-running processes each ``musewave worker`` spawned, by pid (not their
    multiprocessing resource trackers)."""
    children: dict[int, psutil.Process] = {}
    for worker in server.workers:
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(worker.pid).children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    if "spawn_main" in " ".join(child.cmdline()):
                        children[child.pid] = child
    return children


def kill_a_busy_worker(
    server: ServerProcess, stores: Stores, rng: random.Random, spared: set[str]
) -> Kill | None:
    """SIGKILL a live worker process holding a job (not one in ``spared``), at whatever stage
    it is. Returns what was killed, or None when no such process was busy (or it went idle
    first)."""
    children = worker_children(server)
    candidates = [
        job for job in stores.held_jobs() if job.pid in children and job.job_id not in spared
    ]
    if not candidates:
        return None
    victim = rng.choice(candidates)
    os.kill(victim.pid, signal.SIGKILL)  # a child of a worker we started, found by its pid
    at = time.monotonic()
    # The process may have moved on to another job between the read and the kill: what the
    # database says it holds now is what it held (a dead process writes nothing more).
    held = stores.held_by(victim.worker_id)
    if not held:
        return None
    return Kill(held[0].job_id, victim.worker_id, held[0].stage, at)


@dataclass(frozen=True)
class Recovery:
    """Seconds from the SIGKILL until BullMQ moved the job back to wait (its stalled counter
    went up) and until the job was active under another worker (or finished); None: not
    within the deadline."""

    requeued_after_s: float | None
    taken_over_after_s: float | None


def wait_recovered(stores: Stores, kill: Kill, timeout_s: float) -> Recovery:
    """Poll both stores until another worker holds the killed job. The hand-over has no event
    a test could await (the new attempt's first progress event comes later)."""
    deadline = kill.at + timeout_s
    requeued_after_s = None
    while time.monotonic() < deadline:
        state, worker_id = stores.holders([kill.job_id]).get(kill.job_id, ("missing", None))
        now = time.monotonic()
        if requeued_after_s is None and stores.bull_stalls(kill.job_id):
            requeued_after_s = now - kill.at
        if (state == "active" and worker_id != kill.worker_id) or state == "completed":
            return Recovery(requeued_after_s, now - kill.at)
        time.sleep(POLL_S)
    return Recovery(requeued_after_s, None)
