"""A failing worker retries with the configured backoff, dead-letters, and re-drive completes.

Failures come from ``MUSEWAVE_TEST_FAIL_ATTEMPTS`` (a test-only hook: the first N attempts of
every job fail before rendering). The delays are the default 2/6/18 s scaled 1:4.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from musewave.jobs import RetryPolicy
from tests.service.conftest import BACKENDS, StartServer
from tests.service.support import WsWatcher, get_job, same_stores, submit, track

DELAYS_S = (0.5, 1.5, 4.5)
SLACK_S = 2.0  # how much later than its delay a retry may start on a loaded machine


def test_default_retry_delays_are_2_6_18_seconds() -> None:
    policy = RetryPolicy()
    assert [policy.delay_for(n) for n in (1, 2, 3)] == [2.0, 6.0, 18.0]
    assert policy.max_attempts == 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_retries_with_backoff_then_dead_letter_then_redrive(
    start_server: StartServer, backend: str
) -> None:
    env = {
        "MUSEWAVE_TEST_FAIL_ATTEMPTS": "4",
        "MUSEWAVE_RETRY_DELAYS_S": ",".join(str(d) for d in DELAYS_S),
        "MUSEWAVE_CONCURRENCY": "1",
    }
    server = start_server(backend=backend, **env)
    with server.client() as client:
        job_id = submit(client, track("doomed to fail", seed=11))["id"]
        with WsWatcher(server, job_id) as watcher:
            events = watcher.wait_done(timeout_s=60)
        assert watcher.close_code == 1000

        attempts = [e for e in events if e["type"] in ("error", "failed")]
        assert [e["type"] for e in attempts] == ["error", "error", "error", "failed"]
        assert [e["attempt"] for e in attempts] == [1, 2, 3, 4]
        assert all(f"injected failure on attempt {e['attempt']}" in e["error"] for e in attempts)
        assert [e["stage"] for e in attempts] == ["queued", "queued", "queued", "dead"]
        assert events[-1] == attempts[-1]
        assert not [e for e in events if e["type"] in ("progress", "completed")]
        # Judged by the times the system recorded: each failure's retry_at is its recorded time
        # plus the configured delay, and the next attempt (which fails the moment it starts)
        # was recorded no earlier than that, and not much later.
        failed_at = [datetime.fromisoformat(e["ts"]) for e in attempts]
        retry_at = [datetime.fromisoformat(e["retry_at"]) for e in attempts[:-1]]
        assert attempts[-1]["retry_at"] is None
        backoffs = [(r - f).total_seconds() for f, r in zip(failed_at, retry_at, strict=False)]
        assert backoffs == pytest.approx(list(DELAYS_S), abs=0.001)
        for allowed, next_failure in zip(retry_at, failed_at[1:], strict=True):
            assert allowed <= next_failure, (retry_at, failed_at)
            assert (next_failure - allowed).total_seconds() < SLACK_S, (retry_at, failed_at)

        job = get_job(client, job_id)
        assert job["state"] == "dead" and job["attempts"] == job["max_attempts"] == 4
        assert "injected failure on attempt 4" in job["error"]
        assert job["error_kind"] == "internal" and job["assets"] == []
        dead = client.get("/v1/admin/dead").json()["jobs"]
        assert [j["id"] for j in dead] == [job_id]
        assert client.get("/v1/admin/queue").json()["dead"] == 1
    assert server.stop() == 0

    # The same data, without the fault hook: re-drive gives the job a fresh set of attempts.
    env.pop("MUSEWAVE_TEST_FAIL_ATTEMPTS")
    server = start_server(server.data_dir, backend=backend, **env, **same_stores(server))
    with server.client() as client:
        assert get_job(client, job_id)["state"] == "dead"
        with WsWatcher(server, job_id) as watcher:
            late = watcher.wait_done(timeout_s=10)
        assert (late[0]["type"], late[0]["message"]) == ("connected", "dead")
        assert (late[-1]["type"], late[-1]["stage"]) == ("failed", "dead")
        redriven = client.post(f"/v1/admin/jobs/{job_id}/redrive")
        assert redriven.status_code == 202, redriven.text
        view = redriven.json()
        assert (view["state"], view["attempts"], view["error"]) == ("queued", 0, None)
        assert view["timings"]["started_at"] is None
        with WsWatcher(server, job_id) as watcher:
            events = watcher.wait_done(timeout_s=60)
        assert events[-1]["type"] == "completed"
        job = get_job(client, job_id)
        assert job["state"] == "completed" and job["attempts"] == 1
        assert job["error"] is None and job["assets"]
        assert client.get("/v1/admin/dead").json()["jobs"] == []
        again = client.post(f"/v1/admin/jobs/{job_id}/redrive")
        assert again.status_code == 409

        # Cleaning finished jobs removes the job and its files.
        assert (server.data_dir / "assets" / job_id).is_dir()
        kept = client.post("/v1/admin/clean", params={"older_than_s": 3600})
        assert kept.json() == {"removed_jobs": []}
        cleaned = client.post("/v1/admin/clean", params={"older_than_s": 0})
        assert cleaned.status_code == 200 and cleaned.json() == {"removed_jobs": [job_id]}
        assert client.get(f"/v1/jobs/{job_id}").status_code == 404
        assert not (server.data_dir / "assets" / job_id).exists()
