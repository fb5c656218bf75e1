"""The database side of the BullMQ backend: attempts another scheduler hands out
(``begin_attempt``), jobs it gave up on (``settle_lost``) and reconciliation pages
(``unfinished``). Run on SQLite and PostgreSQL like the rest of the queue tests."""

from __future__ import annotations

from datetime import timedelta

from musewave.jobs import JobRecord, JobState, JobStore
from tests.jobs.support import LEASE_MS, FakeClock, make_asset, make_request


def _job(store: JobStore, prompt: str = "night drive") -> JobRecord:
    record, created = store.enqueue(make_request(prompt))
    assert created
    return record


def test_begin_attempt_starts_a_queued_job_under_the_worker(store: JobStore) -> None:
    job = _job(store)

    start = store.begin_attempt(job.id, "host:1:0", 1, LEASE_MS)

    assert start is not None and not start.took_over and not start.settled
    assert start.job.state is JobState.ACTIVE and start.job.attempts == 1
    assert start.job.worker_id == "host:1:0" and start.job.lease_until is not None
    assert store.begin_attempt("no-such-job", "host:1:0", 1, LEASE_MS) is None


def test_a_stalled_attempt_counts_and_the_new_worker_owns_the_job(store: JobStore) -> None:
    job = _job(store)
    store.begin_attempt(job.id, "host:1:0", 1, LEASE_MS)

    # BullMQ re-delivers without raising attemptsMade: the database count still goes up.
    start = store.begin_attempt(job.id, "host:2:0", 1, LEASE_MS)

    assert start is not None and start.took_over and not start.settled
    assert (start.job.state, start.job.attempts, start.job.worker_id) == (
        JobState.ACTIVE,
        2,
        "host:2:0",
    )
    # The first worker lost the job: it can neither complete nor fail it.
    assert not store.complete(job.id, "host:1:0", [make_asset(job.id)], seed=1)
    assert store.fail(job.id, "host:1:0", "boom", "internal") is None


def test_a_resubmitted_job_keeps_its_attempt_count(store: JobStore) -> None:
    job = _job(store)
    store.begin_attempt(job.id, "w", 1, LEASE_MS)
    failed = store.fail(job.id, "w", "boom", "internal")
    assert failed is not None and failed.state is JobState.QUEUED

    # Redis lost the job and reconcile() added it again: BullMQ counts from zero.
    start = store.begin_attempt(job.id, "w", 1, LEASE_MS)

    assert start is not None and start.job.attempts == 2


def test_a_job_whose_last_attempt_died_is_dead_not_run_again(store: JobStore) -> None:
    job = _job(store)
    for attempt in range(1, job.max_attempts + 1):
        start = store.begin_attempt(job.id, f"w{attempt}", attempt, LEASE_MS)
        assert start is not None and start.job.state is JobState.ACTIVE

    start = store.begin_attempt(job.id, "late", job.max_attempts + 1, LEASE_MS)

    assert start is not None and start.took_over and start.settled
    assert start.job.state is JobState.DEAD and start.job.error_kind == "stalled"
    assert start.job.attempts == job.max_attempts and start.job.finished_at is not None


def test_a_cancel_requested_while_the_worker_died_ends_cancelled(store: JobStore) -> None:
    job = _job(store)
    store.begin_attempt(job.id, "w1", 1, LEASE_MS)
    requested = store.cancel(job.id)
    assert requested is not None and requested.cancel_requested

    start = store.begin_attempt(job.id, "w2", 1, LEASE_MS)

    assert start is not None and start.settled and start.job.state is JobState.CANCELLED


def test_finished_jobs_are_returned_unchanged(store: JobStore) -> None:
    job = _job(store)
    store.begin_attempt(job.id, "w", 1, LEASE_MS)
    assert store.complete(job.id, "w", [make_asset(job.id)], seed=5)

    start = store.begin_attempt(job.id, "other", 2, LEASE_MS)

    assert start is not None and not start.took_over and not start.settled
    assert start.job.state is JobState.COMPLETED and start.job.worker_id == "w"


def test_settle_lost_ends_running_jobs_only(store: JobStore) -> None:
    active, done = _job(store, "one"), _job(store, "two")
    store.begin_attempt(active.id, "w", 1, LEASE_MS)
    store.begin_attempt(done.id, "w", 1, LEASE_MS)
    assert store.complete(done.id, "w", [make_asset(done.id)], seed=1)

    settled = store.settle_lost(active.id, "job stalled more than allowable limit")

    assert settled is not None and settled.state is JobState.DEAD
    assert settled.error == "job stalled more than allowable limit"
    assert store.settle_lost(active.id, "again") is None  # once
    assert store.settle_lost(done.id, "late news") is None
    assert store.get(done.id).state is JobState.COMPLETED  # type: ignore[union-attr]


def test_unfinished_pages_through_running_jobs_oldest_first(
    store: JobStore, clock: FakeClock
) -> None:
    ids = []
    for n in range(5):
        ids.append(_job(store, f"track {n}").id)
        clock.advance(1)
    store.begin_attempt(ids[1], "w", 1, LEASE_MS)
    assert store.cancel(ids[2]) is not None  # finished: never reconciled

    cutoff = clock.now
    first = store.unfinished(created_before=cutoff, limit=2)
    rest = store.unfinished(
        created_before=cutoff, limit=2, after=(first[-1].created_at, first[-1].id)
    )

    assert [j.id for j in first] == [ids[0], ids[1]]
    assert [j.id for j in rest] == [ids[3], ids[4]]
    assert store.unfinished(created_before=cutoff - timedelta(seconds=4)) == [store.get(ids[0])]
