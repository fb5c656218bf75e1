"""Deadlines (``Cancel-After`` or ``deadline_s``) on a real server, both backends: a job that
never started by then ends ``aborted``. (What happens to a job that had started, at the
deadline: tests/jobs/test_service.py, on a clock the test moves.)"""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.exceptions import RequestValidationError

from musewave.service.routes.generations import DURATION_PATTERN, cancel_after_s
from tests.service.support import (
    ServerProcess,
    WsWatcher,
    get_job,
    is_terminal,
    long_track,
    submit,
    track,
)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("45", 45.0),
        ("0.5s", 0.5),
        ("0s", 0.0),  # as soon as it is checked
        ("25h", 86_400.0),  # at most a day
    ],
)
def test_cancel_after_reads_durations(header: str | None, seconds: float | None) -> None:
    assert cancel_after_s(header) == seconds


@pytest.mark.parametrize("header", ["soon", "-5s", "5 minutes", "1.5m", "5M", " 5s"])
def test_cancel_after_refuses_what_is_not_a_duration(header: str) -> None:
    with pytest.raises(RequestValidationError):
        cancel_after_s(header)


def _elapsed_s(job: dict[str, object]) -> float:
    timings = job["timings"]
    assert isinstance(timings, dict)
    finished = datetime.fromisoformat(timings["finished_at"])
    return (finished - datetime.fromisoformat(timings["created_at"])).total_seconds()


def test_a_job_that_never_started_by_its_deadline_is_aborted(server: ServerProcess) -> None:
    with server.client() as client:
        # One render at a time, and a long one ahead: the job cannot start within 1 s.
        ahead = submit(client, long_track("ahead"))
        late = submit(client, track("late"), headers={"Cancel-After": "1s"})
        with WsWatcher(server, late["id"]) as watcher:
            final = watcher.wait_for(is_terminal)
        job = get_job(client, late["id"])
        client.post(f"/v1/jobs/{ahead['id']}/cancel")

    assert (final["type"], final["stage"]) == ("cancelled", "aborted")
    assert job["state"] == "aborted" and job["attempts"] == 0
    assert job["error_kind"] == "deadline"
    assert _elapsed_s(job) >= 1.0  # never before its deadline


def test_bad_deadlines_are_422(server: ServerProcess) -> None:
    with server.client() as client:
        header = client.post("/v1/generations", json=track("x"), headers={"Cancel-After": "ok"})
        field = client.post("/v1/generations", json=track("x", deadline_s=-1))
        document = client.get("/openapi.json").json()
    [cancel_after] = [
        parameter
        for parameter in document["paths"]["/v1/generations"]["post"]["parameters"]
        if parameter["name"] == "cancel-after"
    ]
    assert cancel_after["schema"]["pattern"] == DURATION_PATTERN  # what clients can check
    assert header.status_code == 422
    assert header.json()["errors"][0]["loc"] == ["header", "cancel-after"]
    assert field.status_code == 422
    assert field.json()["errors"][0]["loc"] == ["body", "deadline_s"]
