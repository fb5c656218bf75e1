"""deploy/compose.yaml, brought up from the files as shipped (the image built from the
Dockerfile; local stand-ins for the official Redis, PostgreSQL and Prometheus images; Grafana is
not started: there is no Debian package to stand in for it). Through the published API port: an
admin key, a job and its events, its MP3 decoded; two workers both take jobs; a worker killed
mid-job and the job finished by the other; Prometheus scraping the API and both workers."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import av
import httpx
import pytest

from tests.deploy.conftest import ROOT, BuiltImage, Docker
from tests.service.support import free_port

T = TypeVar("T")
# A killed worker's job is re-run once its lock expires: short leases keep the test short.
FAST_RECOVERY = {"MUSEWAVE_LEASE_MS": "4000", "MUSEWAVE_STALLED_CHECK_S": "2"}
TRACK_S = 30


@dataclass
class Stack:
    compose: list[str]
    project: str
    directory: Path
    docker: Docker
    api_url: str
    prometheus_url: str
    key: str = ""

    def run(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [*self.compose, "--project-name", self.project, *args]
        result = subprocess.run(
            command, cwd=self.directory, capture_output=True, text=True, timeout=timeout
        )
        if check:
            assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def containers(self, service: str) -> list[str]:
        return self.run("ps", "-q", service).stdout.split()

    def health(self, container: str) -> str:
        return self.docker.out("inspect", "--format", "{{.State.Health.Status}}", container)

    def log_events(self, container: str) -> list[dict[str, Any]]:
        result = self.docker.run("logs", container)
        logs = result.stdout + result.stderr
        events = []
        for line in logs.splitlines():
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return events

    def jobs_logged(self, container: str, event: str) -> set[str]:
        return {e["job_id"] for e in self.log_events(container) if e.get("event") == event}

    def client(self) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.key}"}
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=30)


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def stack(
    docker: Docker,
    image: BuiltImage,
    standin_images: dict[str, str],
    compose_command: list[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("compose") / "deploy"
    # The shipped files, unchanged; only the (never committed) .env is written here.
    shutil.copytree(ROOT / "deploy", directory)
    api_port, prometheus_port = free_port(), free_port()
    env = {
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
        "REDIS_PASSWORD": uuid.uuid4().hex,
        "GRAFANA_ADMIN_PASSWORD": uuid.uuid4().hex,
        "IMAGE": image.tag,
        "REDIS_IMAGE": standin_images["redis"],
        "POSTGRES_IMAGE": standin_images["postgres"],
        "PROMETHEUS_IMAGE": standin_images["prometheus"],
        "API_PORT": str(api_port),
        "PROMETHEUS_PORT": str(prometheus_port),
        **FAST_RECOVERY,
    }
    (directory / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    stack = Stack(
        compose_command,
        f"mwtest{uuid.uuid4().hex[:8]}",
        directory,
        docker,
        f"http://127.0.0.1:{api_port}",
        f"http://127.0.0.1:{prometheus_port}",
    )
    started = time.monotonic()
    try:
        created = stack.run(
            "run", "--rm", "api", "keys", "create", "--name", "ci", "--scope", "admin"
        )
        match = re.search(r"\bmw_[A-Za-z0-9_-]+", created.stdout)
        assert match, created.stdout
        stack.key = match.group(0)
        stack.run("up", "-d", "api", "worker", "prometheus")
        for service in ("api", "worker", "queue", "cache", "postgres", "prometheus"):
            for container in stack.containers(service):
                wait_for(
                    f"{service} healthy", lambda c=container: stack.health(c) == "healthy", 120
                )
        print(f"\ncompose stack healthy after {time.monotonic() - started:.0f} s")
        yield stack
    finally:
        print(stack.run("logs", "--no-color", "--tail", "40", check=False).stdout[-20_000:])
        stack.run("down", "-v", "--remove-orphans", check=False, timeout=180)


def submit(
    client: httpx.Client, seed: int, duration_s: int = TRACK_S, *, heavy: bool = False
) -> str:
    body = {
        "prompt": f"compose test {uuid.uuid4().hex[:6]}",
        "genres": ["house"],
        "duration_s": duration_s,
        "seed": seed,
        # heavy: every format and every stem, so the render lasts (~10 s on one core)
        "formats": ["mp3", "wav", "flac"] if heavy else ["mp3"],
        "stems": heavy,
    }
    answer = client.post("/v1/generations", json=body)
    assert answer.status_code == 202, answer.text
    job_id: str = answer.json()["id"]
    return job_id


def state(client: httpx.Client, job_id: str) -> str:
    answer = client.get(f"/v1/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    value: str = answer.json()["state"]
    return value


def test_every_service_has_limits_and_the_workers_are_two_on_read_only_roots(
    stack: Stack,
) -> None:
    workers = stack.containers("worker")
    assert len(workers) == 2
    for service in ("api", "worker", "queue", "cache", "postgres", "prometheus"):
        for container in stack.containers(service):
            host = json.loads(stack.docker.out("inspect", container))[0]["HostConfig"]
            assert host["Memory"] > 0 and host["NanoCpus"] > 0, service
            if service in ("api", "worker"):
                assert host["ReadonlyRootfs"] is True, service


def test_a_job_streams_its_events_and_its_mp3_decodes(stack: Stack) -> None:
    with stack.client() as client:
        job_id = submit(client, seed=1)
        types = []
        with client.stream("GET", f"/v1/jobs/{job_id}/events", timeout=120) as events:
            for line in events.iter_lines():
                if line.startswith("data:"):
                    types.append(json.loads(line[5:])["type"])
                    if types[-1] in ("completed", "failed", "cancelled", "error"):
                        break
        assert types[0] == "connected" and "progress" in types and types[-1] == "completed"
        mp3 = client.get(f"/v1/jobs/{job_id}/assets/mix.mp3")
        assert mp3.status_code == 200
        with av.open(io.BytesIO(mp3.content)) as container:
            stream = container.streams.audio[0]
            samples = sum(frame.samples for frame in container.decode(stream))
        assert abs(samples / stream.rate - TRACK_S) < 0.1


def test_both_workers_take_jobs_and_prometheus_scrapes_them(stack: Stack) -> None:
    with stack.client() as client:
        jobs = [submit(client, seed=10 + n) for n in range(4)]
        wait_for(
            "4 jobs completed",
            lambda: all(state(client, job) == "completed" for job in jobs),
            240,
        )
    taken = {
        c: stack.jobs_logged(c, "job completed") & set(jobs) for c in stack.containers("worker")
    }
    assert all(taken.values()), taken

    def targets_up() -> list[dict[str, Any]] | None:
        answer = httpx.get(f"{stack.prometheus_url}/api/v1/targets", timeout=10).json()
        active = answer["data"]["activeTargets"]
        up = [t for t in active if t["health"] == "up"]
        jobs = sorted(t["labels"]["job"] for t in up)
        return up if jobs == ["musewave-api", "musewave-worker", "musewave-worker"] else None

    wait_for("Prometheus scraping the API and 2 workers", targets_up, 60)

    def completed_total() -> float | None:
        query = {"query": "sum(musewave_jobs_completed_total{job='musewave-worker'})"}
        answer = httpx.get(f"{stack.prometheus_url}/api/v1/query", params=query, timeout=10)
        result = answer.json()["data"]["result"]
        value = float(result[0]["value"][1]) if result else 0.0
        return value if value >= len(jobs) else None

    wait_for("the workers' completed jobs in Prometheus", completed_total, 60)


def test_a_worker_killed_mid_job_leaves_the_job_to_the_other(stack: Stack) -> None:
    with stack.client() as client:
        # Long enough to be killed mid-render, even when the start is seen late in the logs.
        job_id = submit(client, seed=99, duration_s=120, heavy=True)
        workers = stack.containers("worker")

        def holder() -> str | None:
            return next((c for c in workers if job_id in stack.jobs_logged(c, "job started")), None)

        victim = wait_for("a worker to start the job", holder, 60)
        stack.docker.run("kill", victim)
        wait_for("the job to complete", lambda: state(client, job_id) == "completed", 120)
        job = client.get(f"/v1/jobs/{job_id}").json()
    [survivor] = [c for c in workers if c != victim]
    assert job_id in stack.jobs_logged(survivor, "job completed")
    assert job_id not in stack.jobs_logged(victim, "job completed")
    assert job["attempts"] == 2
