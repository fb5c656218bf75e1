"""Priorities order the start of queued jobs: high, then normal, then low (FIFO within one)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime

import httpx

from tests.service.support import (
    Event,
    ServerProcess,
    WsWatcher,
    busy_worker,
    get_job,
    submit,
    track,
)


def test_queued_jobs_start_by_priority(server: ServerProcess) -> None:
    order = ["low", "normal", "high", "normal"]  # submission order
    with server.client() as client, contextlib.ExitStack() as streams:
        # Each job is cancelled as soon as it starts (its first progress event), which frees
        # the only worker for the next: only the start order matters here.
        canceller = streams.enter_context(server.client())

        def cancel_on_start(job_id: str) -> Callable[[Event], None]:
            def on_event(event: Event) -> None:
                if event["type"] == "progress" and event["stage"] == "planning":
                    with contextlib.suppress(httpx.HTTPError):
                        canceller.post(f"/v1/jobs/{job_id}/cancel")

            return on_event

        with busy_worker(server, client):
            ids = [
                submit(client, track(f"{priority} priority tune", priority=priority))["id"]
                for priority in order
            ]
            watchers = [
                streams.enter_context(WsWatcher(server, job_id, on_event=cancel_on_start(job_id)))
                for job_id in ids
            ]
        for watcher in watchers:
            assert watcher.wait_done()[-1]["type"] == "cancelled"

        jobs = [get_job(client, job_id) for job_id in ids]
    assert [job["priority"] for job in jobs] == order
    assert all(job["attempts"] == 1 and job["state"] == "cancelled" for job in jobs)
    started = sorted(
        (datetime.fromisoformat(job["timings"]["started_at"]), job["id"]) for job in jobs
    )
    low, normal_1, high, normal_2 = ids
    assert [job_id for _, job_id in started] == [high, normal_1, normal_2, low]
