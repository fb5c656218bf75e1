"""Cancellation: a queued job at once and never started; an active one at its next checkpoint."""

from __future__ import annotations

from tests.service.support import (
    ServerProcess,
    WsWatcher,
    asset_rows,
    at_stage,
    cancel,
    get_job,
    is_terminal,
    submit,
    track,
)


def test_cancel_queued_then_active_job(server: ServerProcess) -> None:
    with server.client() as client:
        # The only worker renders a 120 s track (the API maximum), so the next job waits.
        active_id = submit(client, track("long cinematic build", duration_s=120))["job_id"]
        with WsWatcher(server, active_id) as active:
            active.wait_for(at_stage("rendering"))

            queued_id = submit(client, track("short waiting piece"))["job_id"]
            with WsWatcher(server, queued_id) as queued:
                assert queued.events[0]["message"] == "queued"
                cancelled = cancel(client, queued_id)
                assert cancelled["state"] == "cancelled"
                assert cancelled["cancel_requested"] is True
                assert queued.wait_for(is_terminal)["type"] == "cancelled"
                assert queued.wait_done(timeout_s=10)[-1]["type"] == "cancelled"
            assert queued.close_code == 1000

            # The worker's job is untouched by cancelling another one.
            assert get_job(client, active_id)["state"] == "active"

            requested = cancel(client, active_id)
            assert requested["cancel_requested"] is True
            assert requested["state"] in ("active", "cancelled")
            final = active.wait_for(is_terminal, timeout_s=30)
            events = active.wait_done(timeout_s=10)
        assert final["type"] == "cancelled" and final["stage"] == "cancelled"
        assert events[-1] == final and active.close_code == 1000
        stages = [e["stage"] for e in events if e["type"] == "progress"]
        assert "validating" not in stages and "completed" not in stages

        job = get_job(client, active_id)
        assert job["state"] == "cancelled" and job["attempts"] == 1
        assert job["assets"] == [] and asset_rows(server, active_id) == []
        assert client.get(f"/v1/jobs/{active_id}/assets").json() == []
        assert client.get(f"/v1/jobs/{active_id}/assets/mix.wav").status_code == 404
        published = [p for p in (server.data_dir / "assets" / active_id).rglob("*") if p.is_file()]
        assert published == []  # the engine's staging folder is gone, nothing was published

        # Now that the worker is free, the cancelled queued job is still never started.
        never = get_job(client, queued_id)
        assert never["state"] == "cancelled"
        assert never["attempts"] == 0 and never["timings"]["started_at"] is None
        assert never["assets"] == []
        again = client.post(f"/v1/jobs/{queued_id}/cancel")
        assert again.status_code == 409
