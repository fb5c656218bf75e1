"""The job store (system of record) and the local scheduler on it, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from musewave.db import Asset, Job, make_engine, make_session_factory, write_transaction
from musewave.jobs import JobRecord, JobState, JobStore, Priority, RetryPolicy
from musewave.jobs.local_scheduler import LocalScheduler
from tests.jobs.support import LEASE_MS, START, FakeClock, MakeStore, make_asset, make_request


def _enqueue_new(store: JobStore, prompt: str = "calm piano", **options: Any) -> JobRecord:
    record, created = store.enqueue(make_request(prompt), **options)
    assert created
    return record


def _get(store: JobStore, job_id: str) -> JobRecord:
    record = store.get(job_id)
    assert record is not None
    return record


def _claim(scheduler: LocalScheduler, worker_id: str = "w1") -> JobRecord:
    record = scheduler.claim(worker_id, LEASE_MS)
    assert record is not None
    return record


def test_enqueued_job_is_queued_and_ready_now(store: JobStore, clock: FakeClock) -> None:
    request = make_request("warm lofi beat", seed=3)

    job, created = store.enqueue(request, priority=Priority.HIGH, request_id="req-1")

    assert created
    assert job.state == JobState.QUEUED
    assert (job.stage, job.progress, job.attempts, job.max_attempts) == ("queued", 0.0, 0, 4)
    assert job.priority == Priority.HIGH
    assert job.request == request.canonical()
    assert job.generation_request() == request
    assert (job.fingerprint, job.seed, job.request_id) == (request.fingerprint(), 3, "req-1")
    assert job.run_after == job.created_at == clock.now
    assert job.run_after.tzinfo is not None
    assert store.get(job.id) == job
    assert store.get("missing") is None


def test_claim_marks_job_active_and_leased(
    scheduler: LocalScheduler, store: JobStore, clock: FakeClock
) -> None:
    job = _enqueue_new(store)

    claimed = _claim(scheduler, "worker-a")

    assert claimed.id == job.id
    assert claimed.state == JobState.ACTIVE
    assert claimed.attempts == 1
    assert claimed.worker_id == "worker-a"
    assert claimed.started_at == clock.now
    assert claimed.lease_until == clock.now + timedelta(milliseconds=LEASE_MS)
    assert scheduler.claim("worker-b", LEASE_MS) is None


def test_claims_take_high_then_normal_then_low_fifo_within_each(
    scheduler: LocalScheduler, store: JobStore, clock: FakeClock
) -> None:
    order = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.NORMAL, Priority.HIGH]
    ids = []
    for n, priority in enumerate(order):
        ids.append(_enqueue_new(store, f"track {n}", priority=priority).id)
        clock.advance(0.001)

    claimed = [_claim(scheduler).id for _ in order]

    assert claimed == [ids[2], ids[4], ids[1], ids[3], ids[0]]
    assert scheduler.claim("w1", LEASE_MS) is None


@settings(
    max_examples=25,
    deadline=None,
    # One database for all examples: each example starts by emptying it.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(priorities=st.lists(st.sampled_from(list(Priority)), min_size=1, max_size=12))
def test_claim_order_is_a_stable_sort_by_priority(
    sessions: sessionmaker[Session], priorities: list[Priority]
) -> None:
    with write_transaction(sessions) as session:
        session.execute(delete(Job))
    clock = FakeClock()
    store = JobStore(sessions, RetryPolicy(), clock=clock)
    scheduler = LocalScheduler(store, rate_limit_per_s=float("inf"))
    enqueued = []
    for n, priority in enumerate(priorities):
        enqueued.append((priority.rank, n, _enqueue_new(store, f"track {n}", priority=priority).id))
        clock.advance(0.001)

    claimed = [_claim(scheduler).id for _ in priorities]

    assert claimed == [job_id for _, _, job_id in sorted(enqueued)]


def test_failed_attempts_wait_2_6_18_seconds_then_go_dead(
    scheduler: LocalScheduler, store: JobStore, clock: FakeClock
) -> None:
    job = _enqueue_new(store)

    for attempt, delay_s in enumerate((2.0, 6.0, 18.0), start=1):
        assert _claim(scheduler).attempts == attempt
        failed = store.fail(job.id, "w1", "synth exploded", "internal")
        assert failed is not None
        assert failed.state == JobState.QUEUED
        assert failed.run_after == clock.now + timedelta(seconds=delay_s)
        assert (failed.error, failed.error_kind, failed.worker_id) == (
            "synth exploded",
            "internal",
            None,
        )
        clock.advance(delay_s - 0.001)
        assert scheduler.claim("w1", LEASE_MS) is None, "claimed before its backoff ended"
        clock.advance(0.001)

    assert _claim(scheduler).attempts == 4
    dead = store.fail(job.id, "w1", "synth exploded again", "internal")

    assert dead is not None
    assert dead.state == JobState.DEAD
    assert dead.finished_at == clock.now
    assert scheduler.claim("w1", LEASE_MS) is None


def test_non_retryable_error_fails_without_retry(
    scheduler: LocalScheduler, store: JobStore, clock: FakeClock
) -> None:
    job = _enqueue_new(store)
    _claim(scheduler)
    clock.advance(5)

    failed = store.fail(job.id, "w1", "duration too long", "invalid_request")

    assert failed is not None
    assert failed.state == JobState.FAILED
    assert failed.attempts == 1
    assert failed.finished_at == clock.now
    assert failed.duration_ms == 5000
    clock.advance(3600)
    assert scheduler.claim("w1", LEASE_MS) is None


def test_redriven_dead_job_runs_again_and_completes(
    make_store: MakeStore, clock: FakeClock
) -> None:
    store = make_store(policy=RetryPolicy(delays_s=(1.0,)))
    scheduler = LocalScheduler(store, rate_limit_per_s=1000.0)
    job = _enqueue_new(store)
    _claim(scheduler)
    store.fail(job.id, "w1", "boom", "internal")
    clock.advance(1)
    _claim(scheduler)
    assert store.fail(job.id, "w1", "boom", "internal") == store.get(job.id)
    assert _get(store, job.id).state == JobState.DEAD

    redriven = store.redrive(job.id)

    assert redriven is not None
    assert redriven.state == JobState.QUEUED
    assert (redriven.attempts, redriven.error, redriven.error_kind) == (0, None, None)
    assert redriven.finished_at is None
    assert redriven.run_after == clock.now
    assert _claim(scheduler).attempts == 1
    assert store.complete(job.id, "w1", [make_asset(job.id)], seed=5)
    assert _get(store, job.id).state == JobState.COMPLETED


def test_redrive_leaves_other_states_alone(store: JobStore) -> None:
    job = _enqueue_new(store)

    assert store.redrive(job.id) == store.get(job.id)
    assert store.redrive("missing") is None


def test_cancelled_queued_job_stops_at_once_and_is_never_claimed(
    scheduler: LocalScheduler, store: JobStore, clock: FakeClock
) -> None:
    job = _enqueue_new(store)

    cancelled = store.cancel(job.id)

    assert cancelled is not None
    assert cancelled.state == JobState.CANCELLED
    assert cancelled.finished_at == clock.now
    assert store.is_cancel_requested(job.id)
    assert scheduler.claim("w1", LEASE_MS) is None


def test_cancelling_an_active_job_asks_its_worker_to_stop(
    scheduler: LocalScheduler, store: JobStore
) -> None:
    job = _enqueue_new(store)
    _claim(scheduler)
    assert not store.is_cancel_requested(job.id)

    requested = store.cancel(job.id)

    assert requested is not None
    assert (requested.state, requested.cancel_requested) == (JobState.ACTIVE, True)
    assert store.is_cancel_requested(job.id)
    assert not store.mark_cancelled(job.id, "someone-else")
    assert store.mark_cancelled(job.id, "w1")
    assert _get(store, job.id).state == JobState.CANCELLED


def test_failure_after_cancel_request_ends_cancelled_without_retry(
    scheduler: LocalScheduler, store: JobStore
) -> None:
    job = _enqueue_new(store)
    _claim(scheduler)
    store.cancel(job.id)

    record = store.fail(job.id, "w1", "interrupted", "internal")

    assert record is not None
    assert record.state == JobState.CANCELLED


def test_cancelling_a_finished_job_changes_nothing(
    scheduler: LocalScheduler, store: JobStore
) -> None:
    job = _enqueue_new(store)
    _claim(scheduler)
    store.complete(job.id, "w1", [], seed=1)
    before = store.get(job.id)

    assert store.cancel(job.id) == before
    assert store.cancel("missing") is None
    assert store.is_cancel_requested("missing")


def test_worker_that_lost_its_job_cannot_complete_it(
    scheduler: LocalScheduler, store: JobStore, clock: FakeClock
) -> None:
    job = _enqueue_new(store)
    _claim(scheduler, "w1")
    clock.advance(LEASE_MS / 1000 + 1)
    assert scheduler.requeue_stalled() == [job.id]
    clock.advance(2)
    assert _claim(scheduler, "w2").attempts == 2

    assert not store.complete(job.id, "w1", [make_asset(job.id, "stale.mp3")], seed=1)
    assert store.fail(job.id, "w1", "late", "internal") is None
    assert not store.update_progress(job.id, "w1", "mixing", 50)
    assert not store.renew_lease(job.id, "w1", LEASE_MS)
    assert not store.mark_cancelled(job.id, "w1")
    held = store.get(job.id)
    assert held is not None
    assert (held.state, held.worker_id, held.assets) == (JobState.ACTIVE, "w2", [])

    assert store.complete(job.id, "w2", [make_asset(job.id, "mix.mp3")], seed=9)
    done = store.get(job.id)
    assert done is not None
    assert (done.state, done.seed, [a.name for a in done.assets]) == (
        JobState.COMPLETED,
        9,
        ["mix.mp3"],
    )
    assert not store.complete(job.id, "w2", [make_asset(job.id, "again.mp3")], seed=9)


def test_renewed_lease_keeps_the_job_out_of_stalled_checks(
    scheduler: LocalScheduler, store: JobStore, clock: FakeClock
) -> None:
    kept = _enqueue_new(store, "kept")
    clock.advance(0.001)
    lost = _enqueue_new(store, "lost")
    _claim(scheduler, "w1")
    _claim(scheduler, "w2")
    clock.advance(LEASE_MS / 1000 - 1)
    assert store.renew_lease(kept.id, "w1", LEASE_MS)
    assert _get(store, kept.id).lease_until == clock.now + timedelta(milliseconds=LEASE_MS)
    clock.advance(2)

    assert scheduler.requeue_stalled() == [lost.id]

    requeued = store.get(lost.id)
    assert requeued is not None
    assert (requeued.state, requeued.error_kind, requeued.attempts) == (
        JobState.QUEUED,
        "stalled",
        1,
    )
    assert requeued.run_after == clock.now + timedelta(seconds=2)
    assert _get(store, kept.id).state == JobState.ACTIVE
    assert scheduler.requeue_stalled() == []


def test_stalled_job_without_attempts_left_goes_dead(
    make_store: MakeStore, clock: FakeClock
) -> None:
    store = make_store(policy=RetryPolicy(delays_s=()))
    scheduler = LocalScheduler(store, rate_limit_per_s=1000.0)
    job = _enqueue_new(store)
    _claim(scheduler)
    clock.advance(LEASE_MS / 1000 + 1)

    assert scheduler.requeue_stalled() == [job.id]
    assert _get(store, job.id).state == JobState.DEAD


def test_recover_all_active_requeues_every_active_job_at_once(
    scheduler: LocalScheduler, store: JobStore, clock: FakeClock
) -> None:
    jobs = [_enqueue_new(store, f"track {n}") for n in range(3)]
    active = {_claim(scheduler, "w1").id, _claim(scheduler, "w2").id}
    waiting = ({job.id for job in jobs} - active).pop()

    recovered = scheduler.recover_all_active()

    assert set(recovered) == active
    assert all(_get(store, i).state == JobState.QUEUED for i in active)
    assert _get(store, waiting).state == JobState.QUEUED
    assert store.stats().active == 0


def test_release_worker_requeues_only_that_processes_jobs(
    scheduler: LocalScheduler, store: JobStore
) -> None:
    jobs = [_enqueue_new(store, f"track {n}") for n in range(3)]
    dead_slot_0 = _claim(scheduler, "host:41:0").id
    dead_slot_1 = _claim(scheduler, "host:41:1").id
    alive = _claim(scheduler, "host:411:0").id  # a pid sharing the prefix digits is not released

    released = scheduler.release_worker("host:41:")

    assert set(released) == {dead_slot_0, dead_slot_1}
    assert {job.id for job in jobs} == {dead_slot_0, dead_slot_1, alive}
    for job_id in released:
        record = _get(store, job_id)
        assert record.state == JobState.QUEUED
        assert record.error_kind == "stalled" and "host:41:" in (record.error or "")
    assert _get(store, alive).state == JobState.ACTIVE


def test_progress_is_recorded_and_clamped(scheduler: LocalScheduler, store: JobStore) -> None:
    job = _enqueue_new(store)
    _claim(scheduler)

    assert store.update_progress(job.id, "w1", "rendering", 42.5)
    assert (_get(store, job.id).stage, _get(store, job.id).progress) == ("rendering", 42.5)
    assert store.update_progress(job.id, "w1", "mixing", 250)
    assert _get(store, job.id).progress == 100.0


def test_start_rate_limit_holds_back_the_sixth_start_in_one_second(
    store: JobStore, clock: FakeClock
) -> None:
    scheduler = LocalScheduler(store, rate_limit_per_s=5.0)
    for n in range(8):
        _enqueue_new(store, f"track {n}")

    started = [scheduler.claim(f"w{n}", LEASE_MS) for n in range(6)]

    assert all(job is not None for job in started[:5])
    assert started[5] is None
    clock.advance(0.999)
    assert scheduler.claim("w6", LEASE_MS) is None
    clock.advance(0.001)
    assert scheduler.claim("w6", LEASE_MS) is not None


def test_rate_below_one_per_second_spaces_starts_out(store: JobStore, clock: FakeClock) -> None:
    scheduler = LocalScheduler(store, rate_limit_per_s=0.5)
    for n in range(3):
        _enqueue_new(store, f"track {n}")

    assert scheduler.claim("w1", LEASE_MS) is not None
    clock.advance(1.5)
    assert scheduler.claim("w2", LEASE_MS) is None
    clock.advance(0.5)
    assert scheduler.claim("w2", LEASE_MS) is not None


def test_rate_limit_must_be_positive(store: JobStore) -> None:
    with pytest.raises(ValueError):
        LocalScheduler(store, rate_limit_per_s=0)


def test_same_idempotency_key_returns_the_same_job(store: JobStore) -> None:
    first, created = store.enqueue(make_request("one"), idempotency_key="key-1")
    again, created_again = store.enqueue(make_request("one"), idempotency_key="key-1")
    other, created_other = store.enqueue(make_request("one"), idempotency_key="key-2")

    assert (created, created_again, created_other) == (True, False, True)
    assert again.id == first.id
    assert other.id != first.id


def test_seeded_duplicate_attaches_then_hits_the_finished_result(
    scheduler: LocalScheduler, store: JobStore
) -> None:
    request = make_request("deterministic", seed=42)
    job, _ = store.enqueue(request)

    queued_again, created = store.enqueue(make_request("deterministic", seed=42))
    assert (queued_again.id, created) == (job.id, False)

    _claim(scheduler)
    active_again, created = store.enqueue(request)
    assert (active_again.id, created) == (job.id, False)

    assets = [make_asset(job.id, "mix.mp3"), make_asset(job.id, "stems/bass.wav", "stem")]
    assert store.complete(job.id, "w1", assets, seed=42)
    cached, created = store.enqueue(request)

    assert (cached.id, created) == (job.id, False)
    assert cached.state == JobState.COMPLETED
    assert cached.assets == sorted(assets, key=lambda asset: asset.name)
    assert store.enqueue(make_request("deterministic", seed=43))[1]


def test_seeded_request_does_not_reuse_failed_jobs(
    scheduler: LocalScheduler, store: JobStore
) -> None:
    request = make_request("deterministic", seed=42)
    job, _ = store.enqueue(request)
    _claim(scheduler)
    store.fail(job.id, "w1", "bad", "invalid_request")

    retry, created = store.enqueue(request)

    assert created
    assert retry.id != job.id


def test_unseeded_duplicates_are_new_variations(store: JobStore) -> None:
    ids = {store.enqueue(make_request("surprise me"))[0].id for _ in range(3)}

    assert len(ids) == 3


def test_unseeded_result_is_found_again_by_its_recorded_seed(
    scheduler: LocalScheduler, store: JobStore
) -> None:
    job = _enqueue_new(store, "surprise me")
    _claim(scheduler)
    store.complete(job.id, "w1", [make_asset(job.id)], seed=1234)

    again, created = store.enqueue(make_request("surprise me", seed=1234))

    assert (again.id, created, again.seed) == (job.id, False, 1234)


def test_pages_cover_every_job_once_newest_first(store: JobStore, clock: FakeClock) -> None:
    ids = []
    for n in range(23):
        ids.append(_enqueue_new(store, f"track {n}").id)
        if n % 4 == 0:  # some jobs share a timestamp: the id breaks the tie
            clock.advance(1)

    seen: list[JobRecord] = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = store.list_jobs(limit=5, cursor=cursor)
        seen.extend(page)
        pages += 1
        if cursor is None:
            break

    assert pages == 5
    assert sorted(job.id for job in seen) == sorted(ids)
    keys = [(job.created_at, job.id) for job in seen]
    assert keys == sorted(keys, reverse=True)


def test_listing_filters_by_state(store: JobStore) -> None:
    jobs = [_enqueue_new(store, f"track {n}") for n in range(4)]
    store.cancel(jobs[1].id)

    cancelled, cursor = store.list_jobs(state=JobState.CANCELLED)
    queued, _ = store.list_jobs(state=JobState.QUEUED, limit=2)

    assert ([job.id for job in cancelled], cursor) == ([jobs[1].id], None)
    assert len(queued) == 2
    assert all(job.state == JobState.QUEUED for job in queued)


def test_listing_rejects_bad_cursors_and_limits(store: JobStore) -> None:
    with pytest.raises(ValueError):
        store.list_jobs(cursor="not a cursor")
    with pytest.raises(ValueError):
        store.list_jobs(limit=0)


def test_stats_count_states_and_delayed_jobs(
    scheduler: LocalScheduler, store: JobStore, clock: FakeClock
) -> None:
    for n in range(4):
        _enqueue_new(store, f"track {n}")
    failing, _running = _claim(scheduler, "w1"), _claim(scheduler, "w2")
    store.fail(failing.id, "w1", "boom", "internal")
    waiting, _ = store.list_jobs(state=JobState.QUEUED)
    ready = [job for job in waiting if job.id != failing.id]
    store.cancel(ready[0].id)

    stats = store.stats()

    assert (stats.queued, stats.active, stats.cancelled, stats.delayed) == (2, 1, 1, 1)
    assert stats.total == 4
    assert stats.count(JobState.ACTIVE) == 1
    assert scheduler.next_run_after() == clock.now
    store.cancel(ready[1].id)
    assert scheduler.next_run_after() == clock.now + timedelta(seconds=2)


def test_next_run_after_is_none_when_nothing_waits(
    scheduler: LocalScheduler, store: JobStore
) -> None:
    assert scheduler.next_run_after() is None


def test_clean_removes_only_old_finished_jobs(
    scheduler: LocalScheduler, store: JobStore, clock: FakeClock, sessions: sessionmaker[Session]
) -> None:
    old_done = _enqueue_new(store, "old done", priority=Priority.HIGH)
    old_cancelled = _enqueue_new(store, "old cancelled")
    still_queued = _enqueue_new(store, "still queued", priority=Priority.LOW)
    assert _claim(scheduler).id == old_done.id
    store.complete(old_done.id, "w1", [make_asset(old_done.id)], seed=1)
    store.cancel(old_cancelled.id)
    clock.advance(3600)
    recent = _enqueue_new(store, "recent", priority=Priority.HIGH)
    assert _claim(scheduler).id == recent.id
    store.complete(recent.id, "w1", [make_asset(recent.id)], seed=2)

    removed = store.clean(older_than_s=600)

    assert {r.job_id for r in removed} == {old_done.id, old_cancelled.id}
    assert store.get(old_done.id) is None
    assert store.get(still_queued.id) is not None
    assert store.get(recent.id) is not None
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Asset)) == 1
    clock.advance(3600)
    assert store.clean(older_than_s=600, states=[JobState.FAILED]) == []
    assert [job.job_id for job in store.clean(older_than_s=600)] == [recent.id]


def test_clean_refuses_unfinished_states(store: JobStore) -> None:
    with pytest.raises(ValueError):
        store.clean(older_than_s=0, states=[JobState.ACTIVE])


def test_complete_rejects_duplicate_asset_names(scheduler: LocalScheduler, store: JobStore) -> None:
    job = _enqueue_new(store)
    _claim(scheduler)

    with pytest.raises(ValueError):
        store.complete(job.id, "w1", [make_asset(job.id), make_asset(job.id)], seed=1)
    assert _get(store, job.id).state == JobState.ACTIVE


def test_store_requires_an_aware_clock(make_store: MakeStore) -> None:
    store = make_store(clock=lambda: START.replace(tzinfo=None))
    with pytest.raises(ValueError):
        store.enqueue(make_request())


def _claim_until_empty(database_url: str, worker_id: str, barrier: Any, results: Any) -> None:
    engine = make_engine(database_url)
    store = JobStore(make_session_factory(engine), RetryPolicy())
    scheduler = LocalScheduler(store, rate_limit_per_s=float("inf"))
    store.stats()  # connect before the race starts
    barrier.wait()
    claimed = []
    while (job := scheduler.claim(worker_id, LEASE_MS)) is not None:
        claimed.append(job.id)
        assert store.complete(job.id, worker_id, [], seed=0)
    results.put((worker_id, claimed))
    engine.dispose()


def test_processes_claiming_one_database_never_share_a_job(
    store: JobStore, database_url: str, tmp_path: Path
) -> None:
    ids = {_enqueue_new(store, f"track {n}").id for n in range(150)}
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    results = context.Queue()
    workers = [
        context.Process(target=_claim_until_empty, args=(database_url, f"p{n}", barrier, results))
        for n in range(3)
    ]
    for worker in workers:
        worker.start()
    claims = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    all_claims = [job_id for claimed in claims.values() for job_id in claimed]
    assert len(all_claims) == len(set(all_claims)) == 150
    assert set(all_claims) == ids
    for worker_id, claimed in claims.items():
        assert all(_get(store, job_id).worker_id == worker_id for job_id in claimed)


FROZEN_NOW = START + timedelta(hours=1)


def _frozen_clock() -> datetime:
    return FROZEN_NOW


def _claim_at_one_instant(database_url: str, worker_id: str, barrier: Any, results: Any) -> None:
    """Claim as fast as possible while time stands still (rate limit: 5 starts per second)."""
    engine = make_engine(database_url)
    store = JobStore(make_session_factory(engine), RetryPolicy(), clock=_frozen_clock)
    scheduler = LocalScheduler(store, rate_limit_per_s=5.0)
    store.stats()
    barrier.wait()
    claimed = [
        job.id for _ in range(20) if (job := scheduler.claim(worker_id, LEASE_MS)) is not None
    ]
    results.put((worker_id, claimed))
    engine.dispose()


def test_processes_claiming_at_once_never_exceed_the_start_rate_limit(
    store: JobStore, database_url: str
) -> None:
    for n in range(30):
        _enqueue_new(store, f"track {n}")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    workers = [
        context.Process(
            target=_claim_at_one_instant, args=(database_url, f"p{n}", barrier, results)
        )
        for n in range(4)
    ]
    for worker in workers:
        worker.start()
    claims = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0

    all_claims = [job_id for claimed in claims.values() for job_id in claimed]
    assert len(all_claims) == len(set(all_claims)) == 5
    assert store.stats().active == 5


def test_concurrent_duplicate_requests_get_one_job(store: JobStore) -> None:
    threads = 8
    barrier = threading.Barrier(threads)

    def _enqueue(n: int) -> tuple[str, bool]:
        barrier.wait()
        if n % 2:
            record, created = store.enqueue(make_request("same seed", seed=77))
        else:
            record, created = store.enqueue(make_request("keyed"), idempotency_key="k-1")
        return record.id, created

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(_enqueue, range(threads)))

    seeded = {outcome for n, outcome in enumerate(outcomes) if n % 2}
    keyed = {outcome for n, outcome in enumerate(outcomes) if not n % 2}
    for group in (seeded, keyed):
        assert len({job_id for job_id, _ in group}) == 1, group
        assert sum(created for _, created in group) == 1, group
    assert store.stats().total == 2
