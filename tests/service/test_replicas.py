"""Production mode with two API replicas on one database and queue: a job's stream on one
replica ends however the job ended, even when the other replica ended it."""

from __future__ import annotations

from tests.service.conftest import StartServer
from tests.service.support import (
    WsWatcher,
    at_stage,
    cancel,
    get_job,
    is_terminal,
    same_stores,
    submit,
    track,
)

# One job start per 20 s, queue-wide: the second job stays queued while the test runs.
SLOW_STARTS = {"MUSEWAVE_CONCURRENCY": "1", "MUSEWAVE_RATE_LIMIT_PER_S": "0.05"}


def test_a_cancel_on_one_replica_ends_the_stream_on_the_other(start_server: StartServer) -> None:
    first = start_server(backend="bullmq", **SLOW_STARTS)
    second = start_server(backend="bullmq", **SLOW_STARTS, **same_stores(first))
    with first.client() as a, second.client() as b:
        running = submit(a, track("takes the only start", duration_s=120))["id"]
        waiting = submit(a, track("waits for the limiter"))["id"]
        with WsWatcher(second, running) as watcher:
            watcher.wait_for(at_stage("rendering"))  # events reach the other replica too
            assert get_job(b, waiting)["state"] == "queued"

            with WsWatcher(second, waiting) as queued_watcher:
                assert cancel(a, waiting)["state"] == "cancelled"
                final = queued_watcher.wait_for(is_terminal)
            assert (final["type"], final["job_id"]) == ("cancelled", waiting)

            cancel(a, running)
            final = watcher.wait_for(is_terminal)
        assert (final["type"], final["job_id"]) == ("cancelled", running)
        assert get_job(b, running)["state"] == "cancelled"
