"""``Prefer: wait=N`` on ``POST /v1/generations``: the finished job in the answer when it ends
in time (200), the usual 202 otherwise; on both backends."""

from __future__ import annotations

import pytest

from musewave.service.routes.generations import MAX_WAIT_S, requested_wait_s
from tests.service.support import ServerProcess, cancel, long_track, submit, track


@pytest.mark.parametrize(
    ("prefer", "wait_s"),
    [
        (None, None),
        ("", None),
        ("wait=10", 10),
        ("WAIT = 7", 7),
        ('wait="3"', 3),
        ("respond-async, wait=5", 5),
        ("handling=lenient; wait=2", 2),
        ("wait", MAX_WAIT_S),
        ("wait=600", MAX_WAIT_S),
        ("wait=0", 0),
        ("wait=soon", None),  # not understood: ignored, as RFC 7240 says
        ("waiting=5", None),
        ("nowait=5", None),
    ],
)
def test_the_wait_preference_is_read_as_rfc_7240_says(prefer: str | None, wait_s: int) -> None:
    assert requested_wait_s(prefer) == wait_s


def test_a_job_that_finishes_in_time_is_the_answer(server: ServerProcess) -> None:
    with server.client(timeout=MAX_WAIT_S + 30) as client:
        response = client.post(
            "/v1/generations", json=track("waited for"), headers={"Prefer": "wait=60"}
        )
    assert response.status_code == 200, response.text
    assert response.headers["preference-applied"] == "wait=60"
    job = response.json()
    assert job["state"] == "completed" and job["created"] is True
    urls = {asset["name"]: asset["url"] for asset in job["assets"]}
    assert urls["mix.wav"].endswith(f"/{job['id']}/assets/mix.wav")


def test_a_job_that_cannot_finish_in_time_is_the_usual_202(server: ServerProcess) -> None:
    with server.client() as client:
        # The server renders one job at a time: a 120 s track (seconds of work) goes first,
        # so a job behind it cannot finish within one second however fast this machine is.
        ahead = submit(client, long_track("ahead"))
        response = client.post(
            "/v1/generations", json=track("not waited for"), headers={"Prefer": "wait=1"}
        )
        assert response.status_code == 202, response.text
        assert response.headers["preference-applied"] == "wait=1"
        assert response.json()["state"] in ("queued", "active")
        for job_id in (response.json()["id"], ahead["id"]):
            cancel(client, job_id)


def test_without_the_preference_nothing_waits(server: ServerProcess) -> None:
    with server.client() as client:
        response = client.post("/v1/generations", json=track("not waiting"))
        assert response.status_code == 202
        assert "preference-applied" not in response.headers
        cancel(client, response.json()["id"])
