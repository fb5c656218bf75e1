"""The local scheduler: which queued job starts next, and when a running one is given up.

It claims from the :class:`~musewave.jobs.store.JobStore` (highest priority first, FIFO within
one), keeps the global start rate limit, and puts back jobs whose worker stopped renewing its
lease. On PostgreSQL (READ COMMITTED) a claim picks its job with ``FOR UPDATE SKIP LOCKED``
(concurrent claims take different rows without waiting) and counts recent starts under a
transaction-level advisory lock, so concurrent claims cannot all see room for one more.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from musewave.db.models import Job
from musewave.db.session import read_transaction, transaction_lock, write_transaction
from musewave.jobs.policy import STALLED
from musewave.jobs.records import JobRecord
from musewave.jobs.states import JobState
from musewave.jobs.store import JobStore, after_failure, load_job, record_of, transition

START_LOCK = "jobs:start"  # a transaction lock (see musewave.db.transaction_lock)


def start_window(rate_limit_per_s: float) -> tuple[int, timedelta] | None:
    """``(max_starts, window)`` so that no 1 s window sees more than ``rate_limit_per_s`` starts.

    From 1/s up: ``floor(rate)`` starts per second. Below: one start per ``1 / rate`` seconds.
    ``inf`` means no limit (None).
    """
    if math.isnan(rate_limit_per_s) or rate_limit_per_s <= 0:
        raise ValueError(f"rate_limit_per_s must be > 0, got {rate_limit_per_s}")
    if math.isinf(rate_limit_per_s):
        return None
    if rate_limit_per_s >= 1:
        return int(rate_limit_per_s), timedelta(seconds=1)
    return 1, timedelta(seconds=1 / rate_limit_per_s)


class LocalScheduler:
    """Hands jobs from ``store`` to worker slots that share its database.

    All methods are synchronous and short (one transaction each). Worker ids identify who
    holds a job: one per concurrent execution slot, e.g. ``f"{hostname}:{pid}:{slot}"``.
    """

    def __init__(self, store: JobStore, *, rate_limit_per_s: float = 10.0) -> None:
        self.store = store
        self._start_window = start_window(rate_limit_per_s)

    def claim(self, worker_id: str, lease_ms: int) -> JobRecord | None:
        """Start the next job: highest priority first, oldest first within a priority, only
        jobs whose ``run_after`` has come. Returns None when nothing is ready or the global
        start rate limit is reached. The job becomes active, held by ``worker_id`` for
        ``lease_ms`` (renew it with :meth:`JobStore.renew_lease`), and its attempt count goes up.
        """
        if lease_ms <= 0:
            raise ValueError(f"lease_ms must be > 0, got {lease_ms}")
        now = self.store.now()
        with write_transaction(self.store.sessions) as session:
            if self._start_window is not None:
                transaction_lock(session, START_LOCK)
            if self._start_limit_reached(session, now):
                return None
            next_id = (
                select(Job.id)
                .where(Job.state == JobState.QUEUED, Job.run_after <= now)
                .order_by(Job.priority, Job.created_at, Job.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            # SKIP LOCKED: a row another claim is taking is passed over, not waited for. A lost
            # race (not expected: the row is locked until commit) just means: try the next one.
            for _ in range(3):
                job_id = session.scalar(next_id)
                if job_id is None:
                    return None
                claimed = transition(
                    session,
                    job_id,
                    {JobState.QUEUED},
                    state=JobState.ACTIVE,
                    attempts=Job.attempts + 1,
                    worker_id=worker_id,
                    lease_until=now + timedelta(milliseconds=lease_ms),
                    started_at=now,
                    finished_at=None,
                    duration_ms=None,
                    progress=0.0,
                    updated_at=now,
                )
                if claimed:
                    job = load_job(session, job_id)
                    return None if job is None else record_of(job)
        return None

    def next_run_after(self) -> datetime | None:
        """The earliest ``run_after`` of any queued job (it may be in the past), or None."""
        with read_transaction(self.store.sessions) as session:
            return session.scalar(
                select(func.min(Job.run_after)).where(Job.state == JobState.QUEUED)
            )

    def requeue_stalled(self) -> list[str]:
        """Active jobs whose lease expired (their worker died or hung) go back to ``queued``.

        The lost attempt counts: the retry policy decides with error kind ``stalled``, so a
        job whose attempts are used up goes to ``dead``. Returns the ids of jobs moved.
        """
        now = self.store.now()
        return self._abandon(
            Job.lease_until < now, now, "lease expired: worker {worker} stopped renewing it"
        )

    def recover_all_active(self) -> list[str]:
        """Start-up of a process that owns every worker: all active jobs are orphans.

        Handled like :meth:`requeue_stalled` without waiting for the leases to expire.
        """
        now = self.store.now()
        return self._abandon(None, now, "worker {worker} was gone when the service restarted")

    def release_worker(self, worker_id_prefix: str) -> list[str]:
        """A worker process exited while holding jobs (ids starting ``worker_id_prefix``): its
        jobs go back to the queue now, handled like :meth:`requeue_stalled`."""
        now = self.store.now()
        pattern = worker_id_prefix.replace("%", r"\%").replace("_", r"\_") + "%"
        return self._abandon(
            Job.worker_id.like(pattern, escape="\\"), now, "worker {worker} exited"
        )

    def _start_limit_reached(self, session: Session, now: datetime) -> bool:
        if self._start_window is None:
            return False
        max_starts, window = self._start_window
        recent = session.scalar(select(func.count()).where(Job.started_at > now - window))
        return (recent or 0) >= max_starts

    def _abandon(
        self, expired: ColumnElement[bool] | None, now: datetime, reason: str
    ) -> list[str]:
        moved: list[str] = []
        with write_transaction(self.store.sessions) as session:
            # Rows locked in id order (so two checkers cannot deadlock); rows another
            # transaction holds (a lease being renewed, a job being completed) are skipped.
            stmt = (
                select(Job)
                .where(Job.state == JobState.ACTIVE)
                .order_by(Job.id)
                .with_for_update(skip_locked=True)
            )
            if expired is not None:
                stmt = stmt.where(expired)
            for job in session.scalars(stmt).all():
                decision = self.store.policy.decide(max(job.attempts, 1), STALLED)
                changed = transition(
                    session,
                    job.id,
                    {JobState.ACTIVE},
                    holder=job.worker_id,
                    where=expired,
                    error=reason.format(worker=job.worker_id),
                    error_kind=STALLED,
                    **after_failure(job, decision, now),
                )
                if changed:
                    moved.append(job.id)
        return moved
