"""Cancellation: a queued job at once and never started; an active one at its next checkpoint."""

from __future__ import annotations

from tests.cli.support import musewave
from tests.service.conftest import StartServer
from tests.service.support import (
    ServerProcess,
    WsWatcher,
    asset_rows,
    cancel,
    get_job,
    is_terminal,
    reached,
    started,
    submit,
    track,
)


def test_cancel_queued_then_active_job(server: ServerProcess) -> None:
    with server.client() as client:
        # The only worker renders a 120 s track (the API maximum), so the next job waits.
        active_id = submit(client, track("long cinematic build", duration_s=120))["id"]
        with WsWatcher(server, active_id) as active:
            active.wait_for(reached("rendering"))

            queued_id = submit(client, track("short waiting piece"))["id"]
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


def test_a_cancel_from_the_operator_cli_ends_streams_like_one_through_the_api(
    start_server: StartServer,
) -> None:
    """Both go through JobsService; the CLI's process streams to nobody, so the server ends
    the stream from the database. (In production mode BullMQ's removed event ends it, as for
    a cancel through another replica: tests/service/test_replicas.py.)"""
    # One start per 1,000 s: after the first job, every job stays queued.
    server = start_server(MUSEWAVE_RATE_LIMIT_PER_S="0.001")
    with server.client() as client:
        first = submit(client, track("takes the only start"))["id"]
        with WsWatcher(server, first) as watcher:
            watcher.wait_for(started)
        via_api = submit(client, track("waits for the api"))["id"]
        via_cli = submit(client, track("waits for the cli"))["id"]
        with WsWatcher(server, via_api) as api_stream, WsWatcher(server, via_cli) as cli_stream:
            cancel(client, via_api)
            result = musewave("jobs", "cancel", via_cli, env=server.env)
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == f"{via_cli}: cancelled"
            api_events = api_stream.wait_done(timeout_s=30)
            cli_events = cli_stream.wait_done(timeout_s=30)
        assert get_job(client, via_cli)["state"] == "cancelled"

    def shape(events: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return [(e["type"], e["stage"], e["attempt"], e["progress"]) for e in events]

    assert shape(api_events) == shape(cli_events)
    assert [e["type"] for e in cli_events] == ["connected", "cancelled"]
