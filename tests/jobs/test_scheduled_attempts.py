"""The database side of the BullMQ backend: attempts another scheduler hands out
(``begin_attempt``), jobs it gave up on (``settle_lost``) and reconciliation pages
(``unfinished``). Run on SQLite and PostgreSQL like the rest of the queue tests."""

from __future__ import annotations

from datetime import timedelta

from musewave.jobs import JobRecord, JobState, LocalQueue
from tests.jobs.support import LEASE_MS, FakeClock, make_asset, make_request


def _job(queue: LocalQueue, prompt: str = "night drive") -> JobRecord:
    record, created = queue.enqueue(make_request(prompt))
    assert created
    return record


def test_begin_attempt_starts_a_queued_job_under_the_worker(queue: LocalQueue) -> None:
    job = _job(queue)

    start = queue.begin_attempt(job.id, "host:1:0", 1, LEASE_MS)

    assert start is not None and not start.took_over and not start.settled
    assert start.job.state is JobState.ACTIVE and start.job.attempts == 1
    assert start.job.worker_id == "host:1:0" and start.job.lease_until is not None
    assert queue.begin_attempt("no-such-job", "host:1:0", 1, LEASE_MS) is None


def test_a_stalled_attempt_counts_and_the_new_worker_owns_the_job(queue: LocalQueue) -> None:
    job = _job(queue)
    queue.begin_attempt(job.id, "host:1:0", 1, LEASE_MS)

    # BullMQ re-delivers without raising attemptsMade: the database count still goes up.
    start = queue.begin_attempt(job.id, "host:2:0", 1, LEASE_MS)

    assert start is not None and start.took_over and not start.settled
    assert (start.job.state, start.job.attempts, start.job.worker_id) == (
        JobState.ACTIVE,
        2,
        "host:2:0",
    )
    # The first worker lost the job: it can neither complete nor fail it.
    assert not queue.complete(job.id, "host:1:0", [make_asset(job.id)], seed=1)
    assert queue.fail(job.id, "host:1:0", "boom", "internal") is None


def test_a_resubmitted_job_keeps_its_attempt_count(queue: LocalQueue) -> None:
    job = _job(queue)
    queue.begin_attempt(job.id, "w", 1, LEASE_MS)
    failed = queue.fail(job.id, "w", "boom", "internal")
    assert failed is not None and failed.state is JobState.QUEUED

    # Redis lost the job and reconcile() added it again: BullMQ counts from zero.
    start = queue.begin_attempt(job.id, "w", 1, LEASE_MS)

    assert start is not None and start.job.attempts == 2


def test_a_job_whose_last_attempt_died_is_dead_not_run_again(queue: LocalQueue) -> None:
    job = _job(queue)
    for attempt in range(1, job.max_attempts + 1):
        start = queue.begin_attempt(job.id, f"w{attempt}", attempt, LEASE_MS)
        assert start is not None and start.job.state is JobState.ACTIVE

    start = queue.begin_attempt(job.id, "late", job.max_attempts + 1, LEASE_MS)

    assert start is not None and start.took_over and start.settled
    assert start.job.state is JobState.DEAD and start.job.error_kind == "stalled"
    assert start.job.attempts == job.max_attempts and start.job.finished_at is not None


def test_a_cancel_requested_while_the_worker_died_ends_cancelled(queue: LocalQueue) -> None:
    job = _job(queue)
    queue.begin_attempt(job.id, "w1", 1, LEASE_MS)
    requested = queue.cancel(job.id)
    assert requested is not None and requested.cancel_requested

    start = queue.begin_attempt(job.id, "w2", 1, LEASE_MS)

    assert start is not None and start.settled and start.job.state is JobState.CANCELLED


def test_finished_jobs_are_returned_unchanged(queue: LocalQueue) -> None:
    job = _job(queue)
    queue.begin_attempt(job.id, "w", 1, LEASE_MS)
    assert queue.complete(job.id, "w", [make_asset(job.id)], seed=5)

    start = queue.begin_attempt(job.id, "other", 2, LEASE_MS)

    assert start is not None and not start.took_over and not start.settled
    assert start.job.state is JobState.COMPLETED and start.job.worker_id == "w"


def test_settle_lost_ends_running_jobs_only(queue: LocalQueue) -> None:
    active, done = _job(queue, "one"), _job(queue, "two")
    queue.begin_attempt(active.id, "w", 1, LEASE_MS)
    queue.begin_attempt(done.id, "w", 1, LEASE_MS)
    assert queue.complete(done.id, "w", [make_asset(done.id)], seed=1)

    settled = queue.settle_lost(active.id, "job stalled more than allowable limit")

    assert settled is not None and settled.state is JobState.DEAD
    assert settled.error == "job stalled more than allowable limit"
    assert queue.settle_lost(active.id, "again") is None  # once
    assert queue.settle_lost(done.id, "late news") is None
    assert queue.get(done.id).state is JobState.COMPLETED  # type: ignore[union-attr]


def test_unfinished_pages_through_running_jobs_oldest_first(
    queue: LocalQueue, clock: FakeClock
) -> None:
    ids = []
    for n in range(5):
        ids.append(_job(queue, f"track {n}").id)
        clock.advance(1)
    queue.begin_attempt(ids[1], "w", 1, LEASE_MS)
    assert queue.cancel(ids[2]) is not None  # finished: never reconciled

    cutoff = clock.now
    first = queue.unfinished(created_before=cutoff, limit=2)
    rest = queue.unfinished(
        created_before=cutoff, limit=2, after=(first[-1].created_at, first[-1].id)
    )

    assert [j.id for j in first] == [ids[0], ids[1]]
    assert [j.id for j in rest] == [ids[3], ids[4]]
    assert queue.unfinished(created_before=cutoff - timedelta(seconds=4)) == [queue.get(ids[0])]
