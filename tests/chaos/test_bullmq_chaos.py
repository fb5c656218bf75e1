"""Chaos in production mode (``musewave serve`` + ``musewave worker`` processes, BullMQ on
Redis, PostgreSQL): worker processes killed with SIGKILL mid-job, and the queue's Redis
restarted mid-run. Every accepted job must end ``completed`` exactly once with valid files;
none may be lost or dead.

The numbers (stalled-recovery time per kill, how long the system took to resume after the
Redis restart) are printed (``pytest -s``) and recorded as test properties (junitxml).
"""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.chaos.checks import job_problems
from tests.chaos.recovery import (
    Kill,
    Recovery,
    kill_a_busy_worker,
    wait_recovered,
    worker_children,
)
from tests.chaos.redis_server import PrivateRedis
from tests.chaos.stores import Stores
from tests.service.conftest import StartServer
from tests.service.support import (
    FINISHED_STATES,
    ServerProcess,
    WsWatcher,
    get_job,
    is_terminal,
    start_worker,
    submit,
    track,
    wait_ready,
)

RecordProperty = Any  # pytest's record_property fixture: (name, value) -> None

TRACK_S = 30
GENRES = ("house", "lofi", "rock", "ambient", "techno")

LEASE_S = 5
STALLED_CHECK_S = 1
# Production defaults are a 10 min lock and a 30 s stalled check: a killed job would come back
# after minutes. A 5 s lock checked every second brings it back in seconds (~lock + 2 checks),
# while still being renewed (every lock/2) in time on a busy 2-core machine. Up to 5 stalls:
# the test is about recovery, not about BullMQ failing a job that stalled too often.
CHAOS_ENV = {
    "MUSEWAVE_CONCURRENCY": "1",
    "MUSEWAVE_LEASE_MS": str(LEASE_S * 1000),
    "MUSEWAVE_STALLED_CHECK_S": str(STALLED_CHECK_S),
    "MUSEWAVE_MAX_STALLS": "5",
    "MUSEWAVE_RETRY_DELAYS_S": "0.2,0.2,0.2",
}
BULL_STATES_EMPTY_AT_END = ("wait", "active", "prioritized", "delayed", "failed")


def request_body(n: int) -> dict[str, Any]:
    """Cheap, distinct tracks; every other one seeded (its seed chosen and recorded by the
    server otherwise)."""
    seed = {"seed": n} if n % 2 else {}
    return track(f"chaos track {n}", genres=[GENRES[n % len(GENRES)]], **seed)


def start_production(start_server: StartServer, processes: int, **env: str) -> ServerProcess:
    """A production-mode server with ``processes`` × ``musewave worker --concurrency 1``."""
    server = start_server(backend="bullmq", **{**CHAOS_ENV, **env})
    for _ in range(processes - 1):
        start_worker(server)
    wait_ready(server)  # every worker process has connected to the queue
    return server


def wait_finished(
    client: httpx.Client, job_ids: list[str], timeout_s: float
) -> dict[str, dict[str, Any]]:
    """Each job's view once all are finished (polled: a job may finish while no event can
    reach the API, e.g. while Redis is down)."""
    deadline = time.monotonic() + timeout_s
    jobs: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        jobs = {job_id: get_job(client, job_id) for job_id in job_ids}
        if all(job["state"] in FINISHED_STATES for job in jobs.values()):
            return jobs
        time.sleep(0.5)
    unfinished = {
        job_id: job["state"] for job_id, job in jobs.items() if job["state"] not in FINISHED_STATES
    }
    raise AssertionError(f"not finished after {timeout_s} s: {unfinished}")


def check_every_job(server: ServerProcess, stores: Stores, jobs: dict[str, dict[str, Any]]) -> None:
    """Each job completed once with valid files; nothing else in either store."""
    storage = server.data_dir / "assets"
    problems = {
        job_id: p for job_id, job in jobs.items() if (p := job_problems(job, storage, TRACK_S))
    }
    assert not problems, problems
    assert stores.states() == {"completed": len(jobs)}
    assert stores.duplicate_assets() == []
    assert stores.assets_per_job() == {job_id: len(job["assets"]) for job_id, job in jobs.items()}
    assert stores.bull_ids("completed") >= set(jobs)
    leftovers = {
        state: ids for state in BULL_STATES_EMPTY_AT_END if (ids := stores.bull_ids(state))
    }
    assert not leftovers, leftovers


def drop_assets(server: ServerProcess) -> None:
    """Delete a passing test's files: ~35 MB of WAVs per job, and pytest keeps the temporary
    directories of its last three runs (a failing test keeps them, to look at)."""
    shutil.rmtree(server.data_dir / "assets")


# --- workers killed -------------------------------------------------------------------------

JOBS = 50
KILLS = 5
MIN_KILLS = 4
KILL_PAUSE_S = (0.3, 2.0)  # between one recovery and the next kill, drawn at random
KILL_PHASE_S = 150.0
FINISH_S = 180.0
# The dead worker's lock expires (≤ lease), one stalled check marks the job and the next moves
# it back to the head of the wait list (≤ 2 checks, +1 of jitter), +2 s for a loaded machine...
REQUEUE_BOUND_S = LEASE_S + 3 * STALLED_CHECK_S + 2
# ...where the first free worker takes it: one of the others when it finishes its current job
# (a few seconds on 2 busy cores), or the killed one's replacement once it has started.
TAKEOVER_BOUND_S = REQUEUE_BOUND_S + 10
# Idle workers asked to stop (SIGTERM) exit within this. Quiet, they take a few seconds; at
# load 18-21 on two cores, three interpreters closing their Redis connections and tearing down
# numpy took over 15 s. The bound is the 30 s grace (after which busy processes are killed)
# plus a margin: it catches a stop that hangs, not a slow machine.
STOP_BOUND_S = 45.0


def kill_busy_workers(
    server: ServerProcess, stores: Stores, rng: random.Random
) -> list[tuple[Kill, Recovery]]:
    """SIGKILL a busy worker process, wait until its job is back under another worker, pause
    a random while, repeat: each kill times one clean recovery. Each job is hit at most once."""
    kills: list[tuple[Kill, Recovery]] = []
    deadline = time.monotonic() + KILL_PHASE_S
    while len(kills) < KILLS:
        assert time.monotonic() < deadline, f"{len(kills)} kills in {KILL_PHASE_S} s: {kills}"
        left = stores.states()
        if left.get("queued", 0) + left.get("active", 0) < 3:
            break  # too little work left for another meaningful kill
        time.sleep(rng.uniform(*KILL_PAUSE_S))  # a random moment: the schedule is the point
        kill = kill_a_busy_worker(server, stores, rng, spared={k.job_id for k, _ in kills})
        if kill is not None:
            kills.append((kill, wait_recovered(stores, kill, timeout_s=60)))
    return kills


def stop_workers(server: ServerProcess, timeout_s: float) -> list[int]:
    """SIGTERM every ``musewave worker``; returns the pids still running after ``timeout_s``
    (which are then killed)."""
    for worker in server.workers:
        worker.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    stuck = []
    for worker in server.workers:
        try:
            worker.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            stuck.append(worker.pid)
            worker.kill()
            worker.wait()
    return stuck


def test_sigkilled_workers_lose_no_job_and_complete_each_once(
    start_server: StartServer, record_property: RecordProperty
) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    server = start_production(start_server, processes=3)
    stores = Stores(server)
    began = time.monotonic()
    with server.client() as client, contextlib.ExitStack() as stack:
        stack.callback(stores.close)
        ids = [submit(client, request_body(n))["id"] for n in range(JOBS)]
        watchers = {job_id: stack.enter_context(WsWatcher(server, job_id)) for job_id in ids}
        kills = kill_busy_workers(server, stores, rng)
        deadline = time.monotonic() + FINISH_S
        finals = {
            job_id: w.wait_for(is_terminal, timeout_s=max(1.0, deadline - time.monotonic()))
            for job_id, w in watchers.items()
        }
        elapsed_s = time.monotonic() - began
        jobs = {job_id: get_job(client, job_id) for job_id in ids}
        alive = client.get("/health").json()["components"]["queue"]["workers_alive"]
        killed_pids = {int(kill.worker_id.split(":")[-2]) for kill, _ in kills}
        children = worker_children(server)
        stuck = stop_workers(server, STOP_BOUND_S)

    report = [
        f"kill {n} at +{kill.at - began:.1f} s: job {kill.job_id} at {kill.stage}; back in "
        f"wait after {_seconds(recovery.requeued_after_s)}, under another worker after "
        f"{_seconds(recovery.taken_over_after_s)} (BullMQ stalls {stores.bull_stalls(kill.job_id)}"
        f", attempts {jobs[kill.job_id]['attempts']})"
        for n, (kill, recovery) in enumerate(kills, 1)
    ]
    print(f"\nchaos seed {seed}: {JOBS} jobs in {elapsed_s:.1f} s", *report, sep="\n")
    requeued = [r.requeued_after_s for _, r in kills]
    taken_over = [r.taken_over_after_s for _, r in kills]
    record_property("requeued_after_s", requeued)
    record_property("taken_over_after_s", taken_over)
    record_property("run_s", round(elapsed_s, 1))

    not_completed = {job_id: f for job_id, f in finals.items() if f["type"] != "completed"}
    assert not not_completed, not_completed
    failures = {
        job_id: [(e["type"], e.get("error")) for e in w.events if e["type"] in ("failed", "error")]
        for job_id, w in watchers.items()
    }
    assert not any(failures.values()), failures
    check_every_job(server, stores, jobs)
    assert len(kills) >= MIN_KILLS, report
    assert all(t is not None and t < REQUEUE_BOUND_S for t in requeued), report
    assert all(t is not None and t < TAKEOVER_BOUND_S for t in taken_over), report
    # Each `musewave worker` replaced its killed process: three slots serve the queue again.
    assert killed_pids.isdisjoint(children) and len(children) == 3, (killed_pids, children)
    assert alive == 3
    # Checked together so one does not hide the other: a killed attempt counts, as in
    # embedded mode (tests/service/test_worker_crash.py), and a `musewave worker` whose
    # processes were killed still stops when asked.
    uncounted = [kill.job_id for kill, _ in kills if jobs[kill.job_id]["attempts"] < 2]
    assert not uncounted and not stuck, (
        f"killed attempts not counted for jobs {uncounted}; "
        f"musewave worker {stuck} still running {STOP_BOUND_S} s after SIGTERM"
    )
    drop_assets(server)


# --- Redis restarted ------------------------------------------------------------------------

RESTART_JOBS = 20
OUTAGE_JOBS = 3
AFTER_JOBS = 3
COMPLETED_BEFORE_OUTAGE = 4
MIN_OUTAGE_S = 3.0


@dataclass(frozen=True)
class Post:
    status: int
    seconds: float
    job_id: str | None


def post_concurrently(server: ServerProcess, bodies: list[dict[str, Any]]) -> list[Post]:
    """POST each body at once from its own client (a slow answer must not delay the next)."""

    def post(body: dict[str, Any]) -> Post:
        with server.client() as client:
            posted = time.monotonic()
            response = client.post("/v1/generations", json=body)
        job_id = response.json()["id"] if response.status_code == 202 else None
        return Post(response.status_code, time.monotonic() - posted, job_id)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def wait_until_started_since(stores: Stores, since: datetime, timeout_s: float) -> bool:
    """Until some attempt began after ``since`` (polled: nothing announces it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stores.count_started_since(since) > 0:
            return True
        time.sleep(0.1)
    return False


# SIGTERM: Redis writes the AOF and exits. SIGKILL: a crash, where up to the last second of
# writes (appendfsync everysec) may be lost; the API's reconciler re-adds queued jobs BullMQ lost.
@pytest.mark.parametrize(
    "stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"]
)
def test_redis_restart_mid_run_loses_no_accepted_job(
    start_server: StartServer,
    private_redis: PrivateRedis,
    record_property: RecordProperty,
    stop_signal: signal.Signals,
) -> None:
    server = start_production(start_server, processes=2, MUSEWAVE_REDIS_URL=private_redis.url)
    stores = Stores(server)
    began = time.monotonic()
    with server.client() as client, contextlib.ExitStack() as stack:
        stack.callback(stores.close)
        accepted = [submit(client, request_body(n))["id"] for n in range(RESTART_JOBS)]
        watchers = {job_id: stack.enter_context(WsWatcher(server, job_id)) for job_id in accepted}
        deadline = time.monotonic() + 120
        while stores.states().get("completed", 0) < COMPLETED_BEFORE_OUTAGE:  # mid-run
            assert time.monotonic() < deadline, stores.states()
            time.sleep(0.2)

        states_at_stop = stores.states()
        stopped_at = time.monotonic()
        private_redis.stop(stop_signal)
        outage_posts = post_concurrently(
            server, [request_body(100 + n) for n in range(OUTAGE_JOBS)]
        )
        time.sleep(max(0.0, MIN_OUTAGE_S - (time.monotonic() - stopped_at)))  # the outage
        private_redis.start()
        up_at, up_wall = time.monotonic(), datetime.now(UTC)

        accepted += [post.job_id for post in outage_posts if post.job_id is not None]
        accepted += [submit(client, request_body(200 + n))["id"] for n in range(AFTER_JOBS)]
        for job_id in accepted[RESTART_JOBS:]:
            watchers[job_id] = stack.enter_context(WsWatcher(server, job_id))
        resumed = wait_until_started_since(stores, up_wall, timeout_s=60)
        resumed_s = time.monotonic() - up_at
        jobs = wait_finished(client, accepted, timeout_s=150)
        all_done_s = time.monotonic() - up_at
        finals = {job_id: _final_event(watcher) for job_id, watcher in watchers.items()}
    elapsed_s = time.monotonic() - began
    back = up_wall.timestamp()
    relayed_after = [t - back for w in watchers.values() for t in w.received_at if t > back]
    first_event_s = min(relayed_after, default=None)

    summary = (
        f"\nRedis {stop_signal.name} with {states_at_stop}: down {up_at - stopped_at:.1f} s; "
        f"POSTs during the outage: {[(p.status, round(p.seconds, 2)) for p in outage_posts]}; "
        f"after Redis was back: first job started {resumed_s:.2f} s, first event relayed "
        f"{first_event_s and round(first_event_s, 2)} s, all {len(accepted)} jobs finished "
        f"{all_done_s:.1f} s; {elapsed_s:.1f} s in all"
    )
    print(summary)
    record_property("redis_resume_s", round(resumed_s, 2))
    record_property("redis_first_event_s", first_event_s)
    record_property("outage_post_s", [round(p.seconds, 2) for p in outage_posts])
    record_property("run_s", round(elapsed_s, 1))

    # The database takes jobs while Redis is down; the reconciler hands them to BullMQ later.
    assert [post.status for post in outage_posts] == [202] * OUTAGE_JOBS, summary
    assert resumed, summary
    check_every_job(server, stores, jobs)
    # Progress streams continue across the restart: each job's socket hears how it ended.
    silent = {
        job_id: final
        for job_id, final in finals.items()
        if final is None or final["type"] != "completed"
    }
    assert not silent, silent
    drop_assets(server)


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def _final_event(watcher: WsWatcher) -> dict[str, Any] | None:
    """The terminal event, if it came (the job is finished by now: a short wait suffices)."""
    with contextlib.suppress(AssertionError):
        return watcher.wait_for(is_terminal, timeout_s=10)
    return None
