"""Graceful shutdown on SIGTERM: progress streams end (WebSocket close 1001), active jobs get
the grace period to finish or go back to the queue, and the process exits 0."""

from __future__ import annotations

import contextlib
import signal
import time

import httpx
import psutil

from tests.service.conftest import StartServer
from tests.service.support import (
    SseWatcher,
    WsWatcher,
    cancel,
    get_job,
    job_row,
    reached,
    started,
    submit,
    track,
)

EXIT_TIMEOUT_S = 20.0


def _sigterm(pid: int) -> float:
    psutil.Process(pid).send_signal(signal.SIGTERM)
    return time.monotonic()


def test_sigterm_closes_sockets_with_1001_and_requeues_what_cannot_finish(
    start_server: StartServer,
) -> None:
    env = {
        "MUSEWAVE_CONCURRENCY": "1",
        "MUSEWAVE_SHUTDOWN_GRACE_S": "1",
        "MUSEWAVE_RETRY_DELAYS_S": "0.2,0.2,0.2",
    }
    server = start_server(**env)
    with server.client() as client, contextlib.ExitStack() as streams:
        # A 120 s track renders for far longer than the 1 s grace period.
        job_id = submit(client, track("too long to finish", duration_s=120))["id"]
        ws = streams.enter_context(WsWatcher(server, job_id))
        sse = streams.enter_context(SseWatcher(server, job_id))
        ws.wait_for(reached("rendering"))
        workers = psutil.Process(server.pid).children(recursive=True)

        sent = _sigterm(server.pid)
        ws.wait_done(timeout_s=10)
        closed_after_s = time.monotonic() - sent
        sse.wait_done(timeout_s=10)
        status = server.process.wait(EXIT_TIMEOUT_S)

    assert ws.close_code == 1001, (ws.close_code, server.log_tail())
    assert closed_after_s < 5, closed_after_s  # at once, not after the grace period
    assert not any(e["type"] in ("completed", "failed", "cancelled") for e in ws.events)
    assert sse.error is None and sse.frame_names[-1] == "error"
    assert sse.events[-1] == {"detail": "server shutting down"}
    assert status == 0, server.log_tail()
    # Children die with the server (killed after the grace period, or by the kernel when
    # their parent is gone: PR_SET_PDEATHSIG), which may take a moment after it exits.
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], alive

    row = job_row(server, job_id)
    assert row["state"] == "queued" and row["attempts"] == 1, row  # back in the queue
    assert row["worker_id"] is None and row["finished_at"] is None

    # After a restart, the returned job runs again (its second attempt).
    server = start_server(server.data_dir, **env)
    with server.client() as client, WsWatcher(server, job_id) as ws:
        running = ws.wait_for(started)
        assert running["attempt"] == 2
        cancel(client, job_id)
        assert ws.wait_done()[-1]["type"] == "cancelled"


def test_sigterm_lets_an_active_job_finish_within_the_grace_period(
    start_server: StartServer,
) -> None:
    env = {"MUSEWAVE_CONCURRENCY": "1", "MUSEWAVE_SHUTDOWN_GRACE_S": "60"}
    server = start_server(**env)
    with server.client() as client:
        job_id = submit(client, track("short enough to finish"))["id"]
        with WsWatcher(server, job_id) as ws:
            ws.wait_for(reached("rendering"))
            _sigterm(server.pid)
            ws.wait_done(timeout_s=10)
            # It stopped accepting work: a submission now is refused or cannot connect.
            try:
                refused = client.post("/v1/generations", json=track("too late"))
            except httpx.TransportError:
                pass
            else:
                assert refused.status_code == 503, refused.text
        status = server.process.wait(EXIT_TIMEOUT_S + 60)
    assert ws.close_code == 1001
    assert status == 0, server.log_tail()
    row = job_row(server, job_id)
    assert (row["state"], row["attempts"]) == ("completed", 1)

    server = start_server(server.data_dir, **env)
    with server.client() as client:
        job = get_job(client, job_id)
        assert job["state"] == "completed" and job["assets"]
        assert client.get(job["assets"][0]["url"]).status_code == 200
