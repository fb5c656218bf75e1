"""A mixed load on the MuseWave API (Locust): submissions, status polling, asset downloads and
WebSocket progress subscriptions, in the proportions a busy studio front-end makes them.

Run it with ``make loadtest`` (a local server on loopback, bounded in time, summary written to
``out/loadtest/``), or against any deployment::

    LOADTEST_API_KEY=mw_… locust -f bench/locustfile.py --host https://musewave.example.org \\
        --headless -u 100 -r 20 -t 2m

The key needs a generous ``--rate`` (``musewave keys create --rate 100000/minute``), or the
per-key limit measures itself. Before the users start, one seeded 30 s job is rendered and
waited for: downloads and subscriptions use it, so they measure the API, not the renderer.
Submissions are mostly repeats of a few seeded requests (answered from the result cache, as
retries and duplicate clicks are) and one in ``NEW_JOB_EVERY`` a new job (which a worker renders).
"""

from __future__ import annotations

import itertools
import os
import random
import time
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment
from websockets.sync.client import connect

API_KEY = os.environ.get("LOADTEST_API_KEY", "")
NEW_JOB_EVERY = int(os.environ.get("LOADTEST_NEW_JOB_EVERY", "20"))
TRACK = {"genres": ["house"], "duration_s": 30, "formats": ["mp3"]}
_counter = itertools.count()
_shared: dict[str, str] = {}


def _headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"} if API_KEY else {}


@events.test_start.add_listener
def render_one_job(environment: Environment, **_: Any) -> None:
    """The job every download and subscription reads, rendered before the load starts."""
    import httpx

    host = environment.host or ""
    with httpx.Client(base_url=host, headers=_headers(), timeout=30) as client:
        body = {"prompt": "load test reference", "seed": 1, **TRACK}
        job = client.post("/v1/generations", json=body).raise_for_status().json()
        deadline = time.monotonic() + 120
        while job["state"] != "completed":
            if job["state"] in ("failed", "dead", "cancelled") or time.monotonic() > deadline:
                raise RuntimeError(f"the reference job did not complete: {job}")
            time.sleep(0.5)
            job = client.get(f"/v1/jobs/{job['id']}").raise_for_status().json()
    _shared["job_id"] = job["id"]


class StudioUser(HttpUser):
    wait_time = between(0.2, 1.0)

    def on_start(self) -> None:
        self.client.headers.update(_headers())
        self.my_jobs: list[str] = []

    @task(2)
    def submit(self) -> None:
        n = next(_counter)
        seed = 1_000 + n if n % NEW_JOB_EVERY == 0 else random.randint(1, 5)
        body = {"prompt": "load test", "seed": seed, **TRACK}
        with self.client.post(
            "/v1/generations", json=body, name="/v1/generations", catch_response=True
        ) as answer:
            if answer.status_code in (200, 202):
                self.my_jobs.append(answer.json()["id"])
                del self.my_jobs[:-20]
                answer.success()
            else:
                answer.failure(f"{answer.status_code}: {answer.text[:200]}")

    @task(10)
    def poll_status(self) -> None:
        job_id = random.choice(self.my_jobs) if self.my_jobs else _shared["job_id"]
        self.client.get(f"/v1/jobs/{job_id}", name="/v1/jobs/{id}")

    @task(3)
    def download_mix(self) -> None:
        self.client.get(
            f"/v1/jobs/{_shared['job_id']}/assets/mix.mp3", name="/v1/jobs/{id}/assets/mix.mp3"
        )

    @task(1)
    def subscribe(self) -> None:
        """A WebSocket subscription to a finished job: connected, then its final event."""
        url = self.host.replace("http", "ws", 1) + f"/ws/progress/{_shared['job_id']}"
        started = time.perf_counter()
        received, error = 0, None
        try:
            with connect(url, additional_headers=_headers(), open_timeout=10) as socket:
                for message in socket:
                    received += len(message)
                    if '"completed"' in str(message):
                        break
        except Exception as exc:  # reported to Locust as a failed request
            error = exc
        events.request.fire(
            request_type="WS",
            name="/ws/progress/{id}",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=received,
            exception=error,
            context={},
        )
