"""Per-job metrics in the job view: queue wait, run time, time per engine stage, real-time
factor, attempts and worker; on both backends."""

from __future__ import annotations

from tests.service.support import (
    ServerProcess,
    WsWatcher,
    get_job,
    is_terminal,
    long_track,
    submit,
    track,
)


def test_a_completed_job_says_how_it_went(server: ServerProcess) -> None:
    with server.client() as client:
        job_id = submit(client, track("measured"))["id"]
        with WsWatcher(server, job_id) as watcher:
            watcher.wait_for(is_terminal)
        done = get_job(client, job_id)
        assert done["state"] == "completed"
        metrics = done["metrics"]

    timings = done["timings"]
    assert metrics["attempts"] == 1
    assert metrics["worker_id"]
    assert metrics["run_ms"] == timings["duration_ms"] > 0
    assert metrics["queue_wait_ms"] >= 0
    stages = metrics["stage_ms"]
    assert {"planning", "composing", "rendering", "mixing", "mastering"} <= set(stages)
    assert all(ms >= 0 for ms in stages.values())
    # The stages ran inside the attempt, so they cannot add up to more than it took.
    assert sum(stages.values()) <= metrics["run_ms"] + len(stages)
    audio_s = 30.0
    assert metrics["real_time_factor"] == round(audio_s / (metrics["run_ms"] / 1000), 2)


def test_a_queued_job_has_no_metrics_yet(server: ServerProcess) -> None:
    with server.client() as client:
        ahead = submit(client, long_track("ahead"))
        waiting = submit(client, track("behind"))
        metrics = get_job(client, waiting["id"])["metrics"]
        for job_id in (waiting["id"], ahead["id"]):
            client.post(f"/v1/jobs/{job_id}/cancel")
    assert metrics == {
        "queue_wait_ms": None,
        "run_ms": None,
        "stage_ms": {},
        "real_time_factor": None,
        "attempts": 0,
        "worker_id": None,
    }
