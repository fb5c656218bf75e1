"""What the studio and the dashboard read from the store: a search of one owner's jobs, and
finished jobs per time bucket. On SQLite and PostgreSQL (JSON is read differently by each)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from musewave.jobs import JobState, JobStore
from musewave.jobs.local_scheduler import LocalScheduler
from tests.jobs.support import LEASE_MS, FakeClock, make_asset, make_request


def _ids(store: JobStore, search: str, owner: str | None = None) -> set[str]:
    page, _ = store.list_jobs(search=search, owner=owner, limit=500)
    return {job.id for job in page}


def test_search_finds_prompt_words_in_any_case_and_ids_by_prefix(store: JobStore) -> None:
    rain, _ = store.enqueue(make_request("Rainy NIGHT piano"), owner="a")
    sun, _ = store.enqueue(make_request("sunny morning 100% funk_groove"), owner="a")
    theirs, _ = store.enqueue(make_request("rainy night piano too"), owner="b")
    café, _ = store.enqueue(make_request("café jazz"), owner="a")

    assert _ids(store, "night", owner="a") == {rain.id}  # another owner's job is not found
    assert _ids(store, "rainy night") == {rain.id, theirs.id}
    assert _ids(store, "100%") == {sun.id}  # LIKE's wildcards are plain characters
    assert _ids(store, "%") == {sun.id}
    assert _ids(store, "_groove") == {sun.id}
    assert _ids(store, "café") == {café.id}  # the text itself, not JSON's escapes
    assert _ids(store, sun.id[:6], owner="a") == {sun.id}
    assert _ids(store, "nothing like it") == set()


def test_throughput_counts_finished_jobs_per_bucket_by_how_they_ended(
    store: JobStore, scheduler: LocalScheduler, clock: FakeClock
) -> None:
    def finish(how: str) -> None:
        job, _ = store.enqueue(make_request(f"job {clock.now}"))
        assert scheduler.claim("w", LEASE_MS) is not None
        if how == "completed":
            assert store.complete(job.id, "w", [make_asset(job.id)], seed=1)
        elif how == "failed":
            assert store.fail(job.id, "w", "bad request", "invalid_request") is not None
        else:
            assert store.mark_cancelled(job.id, "w")

    finish("completed")  # 10 minutes before "now": outside a 5-minute window
    clock.advance(360)
    finish("completed")
    finish("failed")
    clock.advance(120)
    finish("cancelled")
    store.enqueue(make_request("still queued"))  # unfinished: never counted
    clock.advance(120)

    buckets = store.throughput(300, 60)

    starts = [clock.now - timedelta(seconds=s) for s in range(300, 0, -60)]
    assert [b.start for b in buckets] == starts
    counts = [(b.completed, b.failed, b.cancelled) for b in buckets]
    assert counts == [(0, 0, 0), (1, 1, 0), (0, 0, 0), (0, 0, 1), (0, 0, 0)]
    assert store.stats().count(JobState.QUEUED) == 1


def test_throughput_refuses_buckets_it_cannot_draw(store: JobStore) -> None:
    with pytest.raises(ValueError):
        store.throughput(60, 0)
    with pytest.raises(ValueError):
        store.throughput(60, 120)
    with pytest.raises(ValueError):
        store.throughput(100_000, 10)
