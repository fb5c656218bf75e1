"""JobsService: the operations the routes and the operator CLI share, on the local backend."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from musewave.access import Caller, Scope
from musewave.cache import LocalCache, RedisCache
from musewave.config import Settings
from musewave.jobs import (
    JOB_VIEWS,
    IdempotencyConflict,
    JobConflict,
    JobEvent,
    JobNotFound,
    JobsService,
    JobState,
    JobStore,
    RetryPolicy,
)
from musewave.jobs.local_backend import LocalBackend
from musewave.jobs.local_scheduler import LocalScheduler
from musewave.storage import LocalStorage
from tests.conftest import LogLines
from tests.jobs.support import LEASE_MS, FakeClock, MakeStore, make_asset, make_request

USER_A = Caller(owner="key-a", scope=Scope.USER, name="a")
USER_B = Caller(owner="key-b", scope=Scope.USER, name="b")
ADMIN = Caller(owner="key-admin", scope=Scope.ADMIN, name="admin")


@pytest.fixture
def events() -> list[JobEvent]:
    return []


@pytest.fixture
def jobs(store: JobStore, tmp_path: Path, events: list[JobEvent]) -> JobsService:
    backend = LocalBackend(store, Settings(data_dir=tmp_path))
    return JobsService(
        backend, LocalStorage(tmp_path / "assets"), LocalCache(), publish=events.append
    )


def test_submit_publishes_queued_once_and_a_repeat_returns_the_same_job(
    jobs: JobsService, events: list[JobEvent]
) -> None:
    job, created = jobs.submit(make_request("same seed", seed=3), USER_A)
    again, created_again = jobs.submit(make_request("same seed", seed=3), USER_A)

    assert (created, created_again) == (True, False)
    assert again.id == job.id
    assert [(e.type, e.stage, e.job_id) for e in events] == [("progress", "queued", job.id)]


def test_cancel_of_a_queued_job_publishes_its_final_event_and_drops_its_cached_view(
    jobs: JobsService, events: list[JobEvent]
) -> None:
    job, _ = jobs.submit(make_request(), USER_A)
    jobs.cache.set(JOB_VIEWS, job.id, b"stale view")

    cancelled = jobs.cancel(job.id, USER_A)

    assert cancelled.state is JobState.CANCELLED
    assert events[-1].type == "cancelled" and events[-1].job_id == job.id
    assert jobs.cache.get(JOB_VIEWS, job.id) is None
    with pytest.raises(JobConflict, match="already cancelled"):
        jobs.cancel(job.id, USER_A)


def test_cancel_of_an_active_job_only_asks_its_worker_to_stop(
    jobs: JobsService, scheduler: LocalScheduler, events: list[JobEvent]
) -> None:
    job, _ = jobs.submit(make_request(), USER_A)
    assert scheduler.claim("w1", LEASE_MS) is not None

    requested = jobs.cancel(job.id, USER_A)

    assert requested.state is JobState.ACTIVE and requested.cancel_requested
    assert [e.type for e in events] == ["progress"]  # the worker sends the final event


def test_status_reads_may_use_the_event_loop_only_with_embedded_sqlite_and_a_local_cache(
    jobs: JobsService, database_url: str
) -> None:
    embedded = database_url.startswith("sqlite")
    assert jobs.reads_fit_event_loop is embedded
    shared_cache = JobsService(jobs.queue, jobs.storage, RedisCache(redis.Redis()))
    assert not shared_cache.reads_fit_event_loop  # a Redis read is a network wait


def test_unknown_jobs_raise_job_not_found(jobs: JobsService) -> None:
    for operation in (jobs.get, jobs.cancel, jobs.redrive):
        with pytest.raises(JobNotFound, match="no job 'nope'"):
            operation("nope", ADMIN)


def test_redrive_requeues_a_dead_job_and_publishes_queued(
    make_store: MakeStore, tmp_path: Path, clock: FakeClock, events: list[JobEvent]
) -> None:
    store = make_store(policy=RetryPolicy(delays_s=()))
    jobs = JobsService(
        LocalBackend(store, Settings(data_dir=tmp_path)),
        LocalStorage(tmp_path),
        LocalCache(),
        publish=events.append,
    )
    job, _ = jobs.submit(make_request(), USER_A)
    with pytest.raises(JobConflict, match="only dead or failed"):
        jobs.redrive(job.id, ADMIN)
    assert LocalScheduler(store).claim("w1", LEASE_MS) is not None
    assert store.fail(job.id, "w1", "boom", "internal") is not None  # no retries: dead

    redriven = jobs.redrive(job.id, ADMIN)

    assert (redriven.state, redriven.attempts) == (JobState.QUEUED, 0)
    assert [e.type for e in events] == ["progress", "progress"]


def test_clean_removes_old_finished_jobs_their_files_and_cached_views(
    jobs: JobsService, store: JobStore, scheduler: LocalScheduler, clock: FakeClock
) -> None:
    done, _ = jobs.submit(make_request("finished"), USER_A)
    clock.advance(1)
    waiting, _ = jobs.submit(make_request("waiting"), USER_A)
    assert scheduler.claim("w1", LEASE_MS) is not None
    folder = jobs.storage.render_dir(done.id)
    folder.mkdir(parents=True)
    (folder / "mix.mp3").write_bytes(b"mp3")
    assert store.complete(done.id, "w1", [make_asset(done.id)], seed=1)
    jobs.cache.set(JOB_VIEWS, done.id, b"view")
    clock.advance(60)

    assert jobs.clean(30, ADMIN) == [done.id]

    assert jobs.storage.local_path(f"{done.id}/mix.mp3") is None
    assert jobs.cache.get(JOB_VIEWS, done.id) is None
    assert jobs.get(waiting.id, USER_A).state is JobState.QUEUED
    with pytest.raises(JobNotFound):
        jobs.get(done.id, ADMIN)


def test_a_job_is_its_keys_alone_but_admins_see_every_job(jobs: JobsService) -> None:
    job, _ = jobs.submit(make_request("private prompt"), USER_A)

    assert jobs.get(job.id, USER_A).owner == "key-a"
    assert jobs.get(job.id, ADMIN).id == job.id
    for operation in (jobs.get, jobs.cancel):
        with pytest.raises(JobNotFound):
            operation(job.id, USER_B)
    assert jobs.list_jobs(USER_B)[0] == []
    assert [j.id for j in jobs.list_jobs(USER_A)[0]] == [job.id]
    assert [j.id for j in jobs.list_jobs(ADMIN)[0]] == [job.id]


def test_seeded_duplicates_and_idempotency_keys_are_per_key(jobs: JobsService) -> None:
    seeded = make_request("same seed", seed=9)
    mine, _ = jobs.submit(seeded, USER_A, idempotency_key="k1")
    theirs, created = jobs.submit(seeded, USER_B, idempotency_key="k1")

    assert created and theirs.id != mine.id  # another key never attaches to my job
    again, created_again = jobs.submit(seeded, USER_A, idempotency_key="k1")
    assert (again.id, created_again) == (mine.id, False)


def test_an_idempotency_key_reused_for_another_request_is_a_conflict(jobs: JobsService) -> None:
    jobs.submit(make_request("first body"), USER_A, idempotency_key="k2")
    with pytest.raises(IdempotencyConflict, match="different request"):
        jobs.submit(make_request("second body"), USER_A, idempotency_key="k2")


def test_admin_actions_on_other_keys_jobs_are_audited(
    jobs: JobsService, log_lines: LogLines
) -> None:
    job, _ = jobs.submit(make_request("audited"), USER_A)
    jobs.cancel(job.id, ADMIN)
    jobs.clean(0, ADMIN)

    audits = log_lines.where(logger="musewave.audit")
    assert [(a["action"], a["key_id"]) for a in audits] == [
        ("cancel", "key-admin"),
        ("clean", "key-admin"),
    ]
    assert audits[0]["job_id"] == job.id and audits[0]["owner"] == "key-a"


def test_a_deadline_aborts_a_job_that_never_started_and_cancels_one_that_did(
    jobs: JobsService, scheduler: LocalScheduler, clock: FakeClock, events: list[JobEvent]
) -> None:
    retrying, _ = jobs.submit(make_request("retrying"), USER_A, deadline_s=60)
    clock.advance(0.001)  # submitted in this order
    running, _ = jobs.submit(make_request("running"), USER_A, deadline_s=60)
    clock.advance(0.001)
    later, _ = jobs.submit(make_request("later"), USER_A, deadline_s=600)
    plain, _ = jobs.submit(make_request("no deadline"), USER_A)
    claimed = scheduler.claim("w1", LEASE_MS)
    assert claimed is not None and claimed.id == retrying.id  # the oldest runs first...
    jobs.queue.store.fail(retrying.id, "w1", "boom", "engine")  # ...fails, and waits to retry
    assert scheduler.claim("w1", LEASE_MS) is not None  # "running" starts
    assert jobs.enforce_deadlines() == []  # nothing is due yet

    clock.advance(61)
    stopped = {job.id: job for job in jobs.enforce_deadlines()}

    assert set(stopped) == {retrying.id, running.id}
    assert stopped[retrying.id].state is JobState.CANCELLED  # it had started once: cancelled
    assert stopped[running.id].state is JobState.ACTIVE  # its worker stops at a checkpoint
    assert stopped[running.id].cancel_requested
    assert jobs.get(later.id, USER_A).state is JobState.QUEUED
    assert jobs.get(plain.id, USER_A).state is JobState.QUEUED
    assert jobs.enforce_deadlines() == []  # each is stopped once

    clock.advance(600)
    [aborted] = jobs.enforce_deadlines()
    assert (aborted.id, aborted.state, aborted.error_kind) == (
        later.id,
        JobState.ABORTED,
        "deadline",
    )
    assert (events[-1].type, events[-1].stage, events[-1].job_id) == (
        "cancelled",
        "aborted",
        later.id,
    )
    assert jobs.queue.store.stats().aborted == 1
