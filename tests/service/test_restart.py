"""kill -9 of the server with jobs queued and active: its workers die with it, and after a
restart on the same data every job completes exactly once."""

from __future__ import annotations

import contextlib
import hashlib
import time

import psutil
import pytest

from musewave.engine.pipeline import STAGING_PREFIX
from musewave.engine.validate import decode_audio
from tests.service.conftest import StartServer
from tests.service.support import (
    WsWatcher,
    asset_rows,
    get_job,
    job_row,
    reached,
    submit,
    track,
)


def _still_running(processes: list[psutil.Process]) -> list[psutil.Process]:
    running = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            if process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
    return running


def wait_gone(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Processes still running after ``timeout_s`` (they are not our children any more, so
    there is nothing to wait on: poll /proc with a deadline)."""
    deadline = time.monotonic() + timeout_s
    while (running := _still_running(processes)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


def test_kill_9_then_restart_completes_every_job_once(start_server: StartServer) -> None:
    env = {"MUSEWAVE_CONCURRENCY": "2", "MUSEWAVE_RETRY_DELAYS_S": "0.2,0.2,0.2"}
    server = start_server(**env)
    with server.client() as client, contextlib.ExitStack() as streams:
        ids = [submit(client, track(f"restart survivor {n}"))["id"] for n in range(4)]
        watchers = [streams.enter_context(WsWatcher(server, job_id)) for job_id in ids]
        # FIFO within a priority: the first two are the ones the two workers take.
        for watcher in watchers[:2]:
            watcher.wait_for(reached("rendering"))
        workers = psutil.Process(server.pid).children(recursive=True)
        spawned = [p for p in workers if "spawn_main" in " ".join(p.cmdline())]
        assert len(spawned) >= 2, [p.cmdline() for p in workers]
        server.kill9()

    survivors = wait_gone(workers, timeout_s=10)
    assert not survivors, [(p.pid, p.cmdline()) for p in survivors]

    before = {job_id: job_row(server, job_id) for job_id in ids}
    states = {job_id: row["state"] for job_id, row in before.items()}
    assert "active" in states.values() and "queued" in states.values(), states
    assert set(states.values()) <= {"queued", "active", "completed"}, states
    # An active job's attempt was lost with its worker and counts; a queued one never started.
    expected_attempts = {
        job_id: row["attempts"] + 1 if row["state"] == "active" else max(row["attempts"], 1)
        for job_id, row in before.items()
    }

    server = start_server(server.data_dir, **env)
    with server.client() as client, contextlib.ExitStack() as streams:
        watchers = [streams.enter_context(WsWatcher(server, job_id)) for job_id in ids]
        streams_after = [watcher.wait_done(timeout_s=120) for watcher in watchers]
        for events in streams_after:
            assert [e["type"] for e in events].count("completed") == 1, events
            assert events[-1]["type"] == "completed"
        jobs = [get_job(client, job_id) for job_id in ids]

    storage = server.data_dir / "assets"
    for job in jobs:
        job_id = job["id"]
        assert job["state"] == "completed", job
        assert job["attempts"] == expected_attempts[job_id], (states[job_id], job)
        names = [a["name"] for a in job["assets"]]
        assert len(names) == len(set(names)) and "mix.wav" in names
        rows = asset_rows(server, job_id)
        assert sorted(name for name, _ in rows) == sorted(names)  # one row per asset, no more
        for asset in job["assets"]:
            path = storage / job_id / asset["name"]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == asset["sha256"]
        audio, sample_rate = decode_audio(storage / job_id / "mix.wav")
        assert audio.shape[0] == 2
        assert audio.shape[1] / sample_rate == pytest.approx(30.0, abs=0.05)
        # Files of the render the kill interrupted are not left behind (staging folders).
        leftovers = [
            p.name for p in (storage / job_id).iterdir() if p.name.startswith(STAGING_PREFIX)
        ]
        assert leftovers == [], (job_id, leftovers)
