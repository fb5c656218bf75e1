"""Delivery claims on the database, SQLite and PostgreSQL: one attempt at a time per job, the
earliest due first, so a receiver hears a job's events in order and a 410 stops the rest."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.orm import Session, sessionmaker

from musewave.db import write_transaction
from musewave.db.models import WebhookDelivery
from musewave.jobs import JobStore
from musewave.webhooks.client import AttemptOutcome
from musewave.webhooks.store import DISABLED, GONE, PENDING, DeliveryRecord, WebhookStore
from tests.jobs.support import FakeClock, make_request

LEASE_S = 30.0
DELAYS_S = (1.0, 5.0)
OK = AttemptOutcome(status=204, error=None, duration_ms=3)
GONE_410 = AttemptOutcome(status=410, error="410 Gone", duration_ms=3)
FAILED_500 = AttemptOutcome(status=500, error="500", duration_ms=3)


@pytest.fixture
def hooks(sessions: sessionmaker[Session], clock: FakeClock) -> WebhookStore:
    return WebhookStore(sessions, clock=clock)


def new_job(store: JobStore, prompt: str) -> str:
    record, _ = store.enqueue(make_request(prompt))
    return record.id


def record(hooks: WebhookStore, clock: FakeClock, job_id: str, *events: str) -> None:
    for event in events:
        clock.advance(0.01)
        assert hooks.record(
            job_id=job_id,
            owner="alice",
            url="https://example.com/hooks",
            event_type=event,
            dedup_key=event,
            payload=f'{{"type":"{event}"}}',
        )


def claimed(hooks: WebhookStore, limit: int = 10) -> list[DeliveryRecord]:
    return hooks.claim(limit, LEASE_S)[1]


def finish(
    hooks: WebhookStore, clock: FakeClock, delivery: DeliveryRecord, outcome: AttemptOutcome
) -> str | None:
    return hooks.finish(delivery, outcome, DELAYS_S, attempted_at=clock())


def test_a_jobs_deliveries_are_claimed_one_at_a_time_in_order(
    hooks: WebhookStore, store: JobStore, clock: FakeClock
) -> None:
    first, second = new_job(store, "first job"), new_job(store, "second job")
    record(hooks, clock, first, "job.started", "job.progress", "job.completed")
    record(hooks, clock, second, "job.started")

    batch = claimed(hooks)
    assert sorted((d.job_id, d.event_type) for d in batch) == sorted(
        [(first, "job.started"), (second, "job.started")]
    )
    assert claimed(hooks) == []  # the first job's next event waits for its attempt

    sent = []
    while batch:
        for delivery in batch:
            if delivery.job_id == first:
                sent.append(delivery.event_type)
            finish(hooks, clock, delivery, OK)
        batch = claimed(hooks)
    assert sent == ["job.started", "job.progress", "job.completed"]


def test_a_410_stops_the_jobs_later_events_before_they_are_sent(
    hooks: WebhookStore, store: JobStore, clock: FakeClock
) -> None:
    job_id = new_job(store, "gone job")
    record(hooks, clock, job_id, "job.started", "job.progress", "job.completed")

    (started,) = claimed(hooks)
    assert finish(hooks, clock, started, GONE_410) == GONE
    assert claimed(hooks) == []
    states = {d.event_type: d.state for d in hooks.deliveries(job_id)}
    assert states == {"job.started": GONE, "job.progress": DISABLED, "job.completed": DISABLED}


def test_a_delivery_waiting_for_its_retry_does_not_hold_the_others_back(
    hooks: WebhookStore, store: JobStore, clock: FakeClock
) -> None:
    job_id = new_job(store, "retried job")
    record(hooks, clock, job_id, "job.started", "job.completed")

    (started,) = claimed(hooks)
    assert finish(hooks, clock, started, FAILED_500) == PENDING
    (completed,) = claimed(hooks)
    assert completed.event_type == "job.completed"
    finish(hooks, clock, completed, OK)
    clock.advance(DELAYS_S[0])
    (again,) = claimed(hooks)
    assert again.id == started.id and again.attempts == 1


def test_an_expired_lease_lets_the_delivery_be_claimed_again(
    hooks: WebhookStore, store: JobStore, clock: FakeClock
) -> None:
    job_id = new_job(store, "lost attempt")
    record(hooks, clock, job_id, "job.started", "job.completed")

    (lost,) = claimed(hooks)
    clock.advance(LEASE_S + 1)  # the process holding it died mid-attempt
    (again,) = claimed(hooks)
    assert again.id == lost.id


def test_a_row_recorded_as_a_410_lands_is_not_sent(
    sessions: sessionmaker[Session], hooks: WebhookStore, store: JobStore, clock: FakeClock
) -> None:
    # Another API process read "not gone" just before the 410 committed, and recorded its row.
    job_id = new_job(store, "raced job")
    record(hooks, clock, job_id, "job.started")
    (started,) = claimed(hooks)
    finish(hooks, clock, started, GONE_410)
    with write_transaction(sessions) as session:
        raced = WebhookDelivery(
            id="msg_raced",
            job_id=job_id,
            owner="alice",
            url="https://example.com/hooks",
            event_type="job.completed",
            dedup_key="completed:raced",
            payload="{}",
            state=PENDING,
            attempts=0,
            schedule_base=0,
            next_attempt_at=clock(),
            attempt_log=[],
            created_at=clock(),
            updated_at=clock(),
        )
        session.add(raced)
    assert claimed(hooks) == []


def test_resending_any_delivery_asks_for_the_webhook_again_after_a_410(
    hooks: WebhookStore, store: JobStore, clock: FakeClock
) -> None:
    job_id = new_job(store, "resent job")
    record(hooks, clock, job_id, "job.started", "job.completed")
    (started,) = claimed(hooks)
    finish(hooks, clock, started, OK)
    (completed,) = claimed(hooks)
    finish(hooks, clock, completed, GONE_410)

    assert hooks.resend(job_id, started.id) is not None  # a delivered one, sent again
    (again,) = claimed(hooks)
    assert again.id == started.id
    assert {d.id: d.state for d in hooks.deliveries(job_id)}[completed.id] == "failed"


def test_claimers_racing_take_at_most_one_delivery_per_job(
    sessions: sessionmaker[Session], hooks: WebhookStore, store: JobStore, clock: FakeClock
) -> None:
    # Several API processes claim at the same moment: still one attempt at a time per job.
    jobs = [new_job(store, f"busy job {i}") for i in range(3)]
    for job_id in jobs:
        record(hooks, clock, job_id, "job.started", "job.progress", "job.completed")
    claimers = [WebhookStore(sessions, clock=clock) for _ in range(4)]
    start = threading.Barrier(len(claimers))

    def claim(claimer: WebhookStore) -> list[DeliveryRecord]:
        start.wait()
        return claimed(claimer)

    with ThreadPoolExecutor(len(claimers)) as pool:
        batches = list(pool.map(claim, claimers))
    taken = [d for batch in batches for d in batch]
    assert sorted(d.job_id for d in taken) == sorted(jobs)  # one each, none twice
    assert {d.event_type for d in taken} == {"job.started"}
