"""A worker process that dies mid-job is replaced, and its job runs again at once."""

from __future__ import annotations

import os
import signal

import psutil

from tests.service.conftest import StartServer
from tests.service.support import WsWatcher, get_job, is_terminal, reached, submit, track


def worker_processes(server_pid: int) -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(server_pid).children()
        if "resource_tracker" not in " ".join(child.cmdline())
    ]


def test_killed_worker_is_replaced_and_its_job_completes(start_server: StartServer) -> None:
    # A 10-minute lease: only the dead-worker check can bring the job back this quickly.
    server = start_server(MUSEWAVE_CONCURRENCY="1", MUSEWAVE_RETRY_DELAYS_S="0.2,0.2,0.2")
    with server.client() as client:
        # Long enough (~6 s of rendering on one core) that the kill lands during it even on
        # a machine busy with other work.
        long = track("crash test", duration_s=120, formats=["mp3", "wav", "flac"])
        job_id = submit(client, long)["id"]
        with WsWatcher(server, job_id) as watcher:
            watcher.wait_for(reached("rendering"))
            [worker] = worker_processes(server.pid)
            os.kill(worker.pid, signal.SIGKILL)
            retried = watcher.wait_for(lambda e: e["type"] == "progress" and e["attempt"] == 2)
            final = watcher.wait_for(is_terminal)
        job = get_job(client, job_id)
        health = client.get("/health").json()["components"]["queue"]

    assert retried["attempt"] == 2
    assert final["type"] == "completed"
    assert job["state"] == "completed" and job["attempts"] == 2
    assert health["workers_alive"] == health["workers_configured"] == 1
    assert [p.pid for p in worker_processes(server.pid)] != [worker.pid]
