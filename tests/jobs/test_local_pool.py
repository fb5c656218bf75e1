"""The local pool's event pipes: every worker's events reach the owner, in order per worker;
a worker killed (SIGKILL) holds up no one else, and a replaced worker's events still arrive."""

from __future__ import annotations

import os
import select
import signal
import threading
from typing import Any

from musewave.config import Settings
from musewave.jobs.events import JobEvent
from musewave.jobs.local_pool import EventPipe, LocalWorkerPool

EVENTS_PER_WORKER = 50


def chatty_worker(
    settings_data: dict[str, Any], slot: int, events: EventPipe, wake: Any, stop: Any
) -> None:
    """Sends its events from two threads at once, then waits to be stopped (one is killed
    while it waits: its events must still have arrived)."""

    def send(thread: int) -> None:
        for n in range(EVENTS_PER_WORKER):
            events.put(
                JobEvent(type="progress", job_id=f"{slot}:{thread}", stage="rendering", progress=n)
            )

    threads = [threading.Thread(target=send, args=(t,)) for t in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events.put(JobEvent(type="progress", job_id=f"{slot}:done", stage="rendering"))
    # Polled as the real workers do: a waiter on the Event that is SIGKILLed would never
    # acknowledge its notify, and the owner's stop.set() would block.
    while not stop.is_set():
        wake.acquire(timeout=0.1)


def test_every_workers_events_arrive_whole_and_in_order_despite_a_kill(tmp_path: Any) -> None:
    received: list[JobEvent] = []
    done = threading.Condition()

    def on_event(event: JobEvent) -> None:
        with done:
            received.append(event)
            done.notify_all()

    def finished() -> set[str]:
        return {e.job_id for e in received if e.job_id.endswith(":done")}

    pool = LocalWorkerPool(Settings(data_dir=tmp_path, concurrency=3), on_event, chatty_worker)
    pool.start()
    try:
        with done:
            assert done.wait_for(lambda: len(finished()) == 3, timeout=120), finished()
        victim = pool.pids[0]
        exited = os.pidfd_open(victim)
        os.kill(victim, signal.SIGKILL)
        try:  # readable once the process has exited
            assert select.select([exited], [], [], 60)[0] == [exited]
        finally:
            os.close(exited)
        assert pool.replace_dead() == [victim]
        with done:  # the replacement speaks too: its new pipe is read like the others
            assert done.wait_for(
                lambda: sum(e.job_id.endswith(":done") for e in received) == 4, timeout=120
            )
    finally:
        assert pool.stop(grace_s=10) == []
    for slot in range(3):
        for thread in range(2):
            steps = [e.progress for e in received if e.job_id == f"{slot}:{thread}"]
            assert steps[:EVENTS_PER_WORKER] == list(range(EVENTS_PER_WORKER))
