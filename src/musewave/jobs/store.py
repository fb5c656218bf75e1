"""The system of record: every job, its state, attempts and assets, in SQL.

Both backends keep their jobs here; the local scheduler (:mod:`musewave.jobs.local_scheduler`)
and BullMQ (:mod:`musewave.jobs.bullmq_backend`) only decide when and where a job runs.

Every state change is one ``UPDATE jobs ... WHERE id = :id AND state = :expected [AND
worker_id = :holder]`` whose row count says whether it happened, run inside a write
transaction. Two workers can therefore never hold one job, and a worker that lost its job
(lease expired and re-queued, or re-claimed by someone else) can never complete, fail or
cancel it.

The few decisions that read before they write are made atomic per backend. SQLite: the write
transaction is ``BEGIN IMMEDIATE``, so there is one writer at a time. PostgreSQL (READ
COMMITTED): a seeded enqueue looks for a duplicate under an advisory lock on its fingerprint
(so two identical requests at once make one job); idempotency keys are unique in the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import uuid4

from pydantic import ValidationError
from sqlalchemy import (
    CursorResult,
    Engine,
    and_,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from musewave.db.models import Asset, Job, Variant
from musewave.db.session import (
    make_engine,
    make_session_factory,
    read_transaction,
    reads_are_local,
    transaction_lock,
    write_transaction,
)
from musewave.engine.request import GenerationRequest
from musewave.jobs.errors import BucketsOutOfRange, IdempotencyConflict
from musewave.jobs.events import Stage
from musewave.jobs.paging import decode_cursor, encode_cursor
from musewave.jobs.policy import STALLED, RetryDecision, RetryPolicy
from musewave.jobs.records import (
    AssetRecord,
    AttemptStart,
    JobRecord,
    QueueStats,
    RemovedJob,
    ThroughputBucket,
)
from musewave.jobs.states import FINISHED_STATES, REDRIVABLE_STATES, JobState, Priority

Clock = Callable[[], datetime]

MAX_PAGE_SIZE = 500
MAX_BUCKETS = 500
# A throughput chart reads at most this many finished jobs (a huge window is a sample).
MAX_THROUGHPUT_ROWS = 100_000
# The event loop's reads give up on a locked database this soon (a thread then reads).
LOOP_BUSY_TIMEOUT_MS = 50
MAX_ERROR_CHARS = 10_000
_DELETE_CHUNK = 500
# The name of a transaction lock (see musewave.db.transaction_lock; a no-op on SQLite).
FINGERPRINT_LOCK = "jobs:fingerprint:{fingerprint}"


_JOB_BY_ID = select(Job.__table__).where(Job.__table__.c.id == bindparam("id"))
_ASSETS_OF_JOB = (
    select(Asset.__table__)
    .where(Asset.__table__.c.job_id == bindparam("id"))
    .order_by(Asset.__table__.c.name)
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class JobStore:
    """The jobs table and its assets, shared by any number of processes using one database.

    All methods are synchronous and short (one transaction each); call them from worker
    threads, not an event loop, except :meth:`get` where :attr:`reads_fit_event_loop` says
    so. ``clock`` returns timezone-aware UTC "now" (inject one in tests). Worker ids identify
    who holds a job: use one per concurrent execution slot, e.g. ``f"{hostname}:{pid}:{slot}"``.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        policy: RetryPolicy,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.sessions = session_factory
        self.policy = policy
        self._clock = clock
        # Embedded SQLite: a read by primary key (~250 us) costs less than the hop to a
        # worker thread and back. A server database's round trip must not stall the loop.
        self.reads_fit_event_loop = reads_are_local(session_factory)
        self._loop_engine: Engine | None = None
        self._loop_sessions: sessionmaker[Session] | None = None
        if self.reads_fit_event_loop:
            # A connection of the loop's own: its reads never wait for a pool slot that the
            # threads' writes hold, and give up on a lock at once instead of stalling.
            bind = session_factory.kw["bind"]
            self._loop_engine = make_engine(
                bind.url, busy_timeout_ms=LOOP_BUSY_TIMEOUT_MS, single_connection=True
            )
            self._loop_sessions = make_session_factory(self._loop_engine)

    def close(self) -> None:
        """Close the event loop's own connection (the caller disposes of its engine)."""
        if self._loop_engine is not None:
            self._loop_engine.dispose()

    def enqueue(
        self,
        request: GenerationRequest,
        *,
        owner: str = "",
        priority: Priority = Priority.NORMAL,
        idempotency_key: str | None = None,
        request_id: str | None = None,
        trace_context: dict[str, str] | None = None,
        deadline_s: float | None = None,
        webhook: str | None = None,
        webhook_events_filter: list[str] | None = None,
    ) -> tuple[JobRecord, bool]:
        """Queue ``request`` for ``owner`` (an API key's id, "" when anonymous); returns
        ``(job, created)``.

        ``created`` is False when an existing job of the same owner answers the request: the
        job holding ``idempotency_key``; or, for a seeded request, a completed job with the
        same fingerprint (a result-cache hit) or a queued/active one (attach to it). Unseeded
        requests always make a new job. Concurrent identical requests get one job. Raises
        :class:`IdempotencyConflict` when the key was used for another request.
        """
        now = self.now()
        fingerprint = request.fingerprint()
        try:
            with write_transaction(self.sessions) as session:
                if request.seed is not None:
                    transaction_lock(session, FINGERPRINT_LOCK.format(fingerprint=fingerprint))
                existing = _find_duplicate(
                    session, owner, idempotency_key, request, request.seed, fingerprint
                )
                if existing is not None:
                    return record_of(existing), False
                job = Job(
                    id=uuid4().hex,
                    owner=owner,
                    state=JobState.QUEUED,
                    stage=Stage.QUEUED,
                    progress=0.0,
                    priority=priority.rank,
                    request=request.canonical(),
                    fingerprint=fingerprint,
                    seed=request.seed,
                    idempotency_key=idempotency_key,
                    attempts=0,
                    max_attempts=self.policy.max_attempts,
                    cancel_requested=False,
                    run_after=now,
                    created_at=now,
                    updated_at=now,
                    request_id=request_id,
                    trace_context=trace_context,
                    deadline_at=None if deadline_s is None else now + timedelta(seconds=deadline_s),
                    webhook=webhook,
                    webhook_events_filter=webhook_events_filter if webhook else None,
                )
                session.add(job)
                session.flush()
                return record_of(job), True
        except IntegrityError:
            # Another process committed the same idempotency key between our lookup and insert
            # (possible on PostgreSQL, which has no BEGIN IMMEDIATE).
            if idempotency_key is None:
                raise
            with read_transaction(self.sessions) as session:
                existing = _find_duplicate(
                    session, owner, idempotency_key, request, None, fingerprint
                )
                if existing is None:
                    raise
                return record_of(existing), False

    def ping(self) -> None:
        """Raise unless the database answers."""
        with read_transaction(self.sessions) as session:
            session.execute(select(1))

    def get(self, job_id: str, *, on_loop: bool = False) -> JobRecord | None:
        """The job, or None. ``on_loop``: called on the event loop, where
        :attr:`reads_fit_event_loop` allows it (it may raise at once where a thread would
        wait for a lock)."""
        sessions = self._loop_sessions if on_loop and self._loop_sessions else self.sessions
        # Core, not the ORM: the status read is the hottest query (~250 us instead of ~530).
        # Assets are written with the completed state (see complete): other jobs have none,
        # so a status read of a job in progress is one statement.
        with read_transaction(sessions) as session:
            connection = session.connection()
            row = connection.execute(_JOB_BY_ID, {"id": job_id}).mappings().first()
            if row is None:
                return None
            assets: Sequence[RowMapping] = ()
            if row["state"] == JobState.COMPLETED:
                assets = connection.execute(_ASSETS_OF_JOB, {"id": job_id}).mappings().all()
        return JobRecord.model_validate({**row, "assets": [dict(asset) for asset in assets]})

    def finished_among(self, job_ids: Sequence[str], *, before: datetime) -> list[JobRecord]:
        """The jobs of ``job_ids`` that finished before ``before``."""
        finished = [state.value for state in FINISHED_STATES]
        records: list[JobRecord] = []
        with read_transaction(self.sessions) as session:
            for start in range(0, len(job_ids), MAX_PAGE_SIZE):
                chunk = job_ids[start : start + MAX_PAGE_SIZE]
                stmt = select(Job).where(
                    Job.id.in_(chunk), Job.state.in_(finished), Job.finished_at < before
                )
                records += [record_of(job) for job in session.scalars(stmt)]
        return records

    def list_jobs(
        self,
        *,
        state: JobState | None = None,
        owner: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        search: str | None = None,
    ) -> tuple[list[JobRecord], str | None]:
        """Jobs newest first (only ``owner``'s when given; only those whose prompt contains
        ``search``, in any ASCII letter case, or whose id starts with it), ``limit`` (at most
        500) per page, and the cursor of the next page.

        The cursor is opaque; pass it back unchanged. None means this was the last page.
        Raises ``ValueError`` for a malformed cursor or a limit below 1.
        """
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        limit = min(limit, MAX_PAGE_SIZE)
        stmt = select(Job)
        if owner is not None:
            stmt = stmt.where(Job.owner == owner)
        if state is not None:
            stmt = stmt.where(Job.state == state)
        if search:
            stmt = stmt.where(_matching(search))
        if cursor is not None:
            created_at, job_id = decode_cursor(cursor)
            stmt = stmt.where(
                or_(
                    Job.created_at < created_at,
                    and_(Job.created_at == created_at, Job.id < job_id),
                )
            )
        stmt = stmt.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
        with read_transaction(self.sessions) as session:
            jobs = list(session.scalars(stmt))
        page = [record_of(job) for job in jobs[:limit]]
        next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(jobs) > limit else None
        return page, next_cursor

    def throughput(self, window_s: float, bucket_s: float) -> list[ThroughputBucket]:
        """Jobs that finished in the last ``window_s`` seconds, counted per ``bucket_s``-second
        bucket by how they ended, oldest bucket first (empty buckets included). Raises
        :class:`BucketsOutOfRange` unless 0 < ``bucket_s`` <= ``window_s`` and at most
        :data:`MAX_BUCKETS` buckets."""
        if not 0 < bucket_s <= window_s or window_s / bucket_s > MAX_BUCKETS:
            raise BucketsOutOfRange(f"need 0 < bucket_s <= window_s, at most {MAX_BUCKETS} buckets")
        now = self.now()
        count = math.ceil(window_s / bucket_s)
        start = now - timedelta(seconds=count * bucket_s)
        buckets = [
            ThroughputBucket(start=start + timedelta(seconds=i * bucket_s)) for i in range(count)
        ]
        stmt = (
            select(Job.state, Job.finished_at)
            .where(Job.finished_at >= start, Job.state.in_([s.value for s in FINISHED_STATES]))
            .limit(MAX_THROUGHPUT_ROWS)
        )
        with read_transaction(self.sessions) as session:
            rows = session.execute(stmt).all()
        for state, finished_at in rows:
            if finished_at is None:  # a finished state always has its time; typed as optional
                continue
            index = min(int((finished_at - start).total_seconds() // bucket_s), count - 1)
            buckets[index].count(JobState(state))
        return buckets

    def stats(self) -> QueueStats:
        now = self.now()
        with read_transaction(self.sessions) as session:
            rows = session.execute(select(Job.state, func.count()).group_by(Job.state))
            counts = {state: count for state, count in rows}
            delayed = session.scalar(
                select(func.count()).where(Job.state == JobState.QUEUED, Job.run_after > now)
            )
        return QueueStats(
            **{state.value: counts.get(state.value, 0) for state in JobState},
            delayed=delayed or 0,
        )

    def cancel(self, job_id: str) -> JobRecord | None:
        """Cancel a job: queued ones at once; active ones get ``cancel_requested`` and their
        worker stops at its next checkpoint. Finished jobs are returned unchanged; unknown
        ids give None.
        """
        now = self.now()
        with write_transaction(self.sessions) as session:
            cancelled = transition(
                session,
                job_id,
                {JobState.QUEUED},
                state=JobState.CANCELLED,
                cancel_requested=True,
                finished_at=now,
                updated_at=now,
            )
            if not cancelled:
                transition(
                    session, job_id, {JobState.ACTIVE}, cancel_requested=True, updated_at=now
                )
            job = load_job(session, job_id)
            return None if job is None else record_of(job)

    def past_deadline(self, limit: int = 100) -> list[JobRecord]:
        """Unfinished jobs whose deadline has passed and that nobody has stopped yet: queued
        ones, and active ones not yet asked to cancel."""
        now = self.now()
        with read_transaction(self.sessions) as session:
            jobs = session.scalars(
                select(Job)
                .where(
                    Job.deadline_at <= now,
                    (Job.state == JobState.QUEUED)
                    | ((Job.state == JobState.ACTIVE) & Job.cancel_requested.is_(False)),
                )
                .order_by(Job.deadline_at)
                .limit(limit)
            ).all()
            return [record_of(job) for job in jobs]

    def abort(self, job_id: str) -> JobRecord | None:
        """End a queued job that never started as ``aborted`` (its deadline passed). Other
        jobs are returned unchanged; unknown ids give None."""
        now = self.now()
        with write_transaction(self.sessions) as session:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == JobState.QUEUED, Job.attempts == 0)
                .values(
                    state=JobState.ABORTED,
                    stage=JobState.ABORTED.value,
                    cancel_requested=True,
                    error="its deadline passed before it started",
                    error_kind="deadline",
                    finished_at=now,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            job = load_job(session, job_id)
            return None if job is None else record_of(job)

    def is_cancel_requested(self, job_id: str) -> bool:
        """True when the job should stop: cancel requested, cancelled, or gone."""
        with read_transaction(self.sessions) as session:
            row = session.execute(
                select(Job.cancel_requested, Job.state).where(Job.id == job_id)
            ).first()
        return row is None or row.cancel_requested or row.state == JobState.CANCELLED

    def begin_attempt(
        self, job_id: str, worker_id: str, attempt: int, lease_ms: int
    ) -> AttemptStart | None:
        """Start an attempt of a job another scheduler (BullMQ) handed to ``worker_id``, which
        counts it as attempt ``attempt``.

        Queued jobs, and active ones whose previous worker died (the scheduler re-delivers a
        stalled job: ``took_over``), become active under ``worker_id``. The attempt number is
        the database's count plus one, or ``attempt`` if higher, so a killed attempt counts and
        a job the scheduler lost and got again keeps its count. A job whose cancellation was
        requested ends ``cancelled``, one with no attempts left ``dead`` (``settled``). Finished
        jobs are returned unchanged, so the caller can settle a re-delivered job without running
        it again; unknown ids give None.
        """
        now = self.now()
        with write_transaction(self.sessions) as session:
            job = load_job(session, job_id)
            if job is None:
                return None
            if job.state not in (JobState.QUEUED, JobState.ACTIVE):
                return AttemptStart(job=record_of(job), took_over=False, settled=False)
            took_over = job.state == JobState.ACTIVE
            attempts = max(job.attempts + 1, attempt)
            running = {JobState.QUEUED, JobState.ACTIVE}
            settled = job.cancel_requested or attempts > job.max_attempts
            if settled:
                values = after_failure(job, _GIVE_UP, now)  # cancelled, else dead
                if not job.cancel_requested:
                    error = f"attempt {job.attempts} of {job.max_attempts} ended with its worker"
                    values.update(error=error, error_kind=STALLED)
            else:
                values = {
                    "state": JobState.ACTIVE,
                    "attempts": attempts,
                    "worker_id": worker_id,
                    "lease_until": now + timedelta(milliseconds=lease_ms),
                    "started_at": now,
                    "finished_at": None,
                    "duration_ms": None,
                    "stage": Stage.QUEUED,
                    "progress": 0.0,
                    "updated_at": now,
                }
            transition(session, job_id, running, **values)
            job = load_job(session, job_id)
            if job is None:
                return None
            return AttemptStart(job=record_of(job), took_over=took_over, settled=settled)

    def settle_lost(self, job_id: str, reason: str) -> JobRecord | None:
        """The scheduler gave up on a job no worker could report on (e.g. it stalled more
        often than allowed): a queued or active job goes to ``dead`` (or ``cancelled`` if that
        was requested). Returns the job if it changed, else None."""
        now = self.now()
        with write_transaction(self.sessions) as session:
            job = load_job(session, job_id)
            if job is None or job.state not in (JobState.QUEUED, JobState.ACTIVE):
                return None
            changed = transition(
                session,
                job_id,
                {JobState.QUEUED, JobState.ACTIVE},
                error=reason[:MAX_ERROR_CHARS],
                error_kind=STALLED,
                **after_failure(job, _GIVE_UP, now),  # cancelled, else dead
            )
            job = load_job(session, job_id)
            return record_of(job) if changed and job is not None else None

    def unfinished(
        self,
        created_before: datetime,
        limit: int = 200,
        after: tuple[datetime, str] | None = None,
    ) -> list[JobRecord]:
        """Queued and active jobs created before ``created_before``, oldest first, from just
        after ``after`` (a job's ``(created_at, id)``) if given: for reconciling the database
        with another scheduler page by page."""
        stmt = (
            select(Job)
            .where(
                Job.state.in_([JobState.QUEUED.value, JobState.ACTIVE.value]),
                Job.created_at < created_before,
            )
            .order_by(Job.created_at, Job.id)
            .limit(limit)
        )
        if after is not None:
            created_at, job_id = after
            stmt = stmt.where(
                or_(
                    Job.created_at > created_at, and_(Job.created_at == created_at, Job.id > job_id)
                )
            )
        with read_transaction(self.sessions) as session:
            return [record_of(job) for job in session.scalars(stmt).all()]

    def renew_lease(self, job_id: str, worker_id: str, lease_ms: int) -> bool:
        """Extend the lease to now + ``lease_ms``. False: the worker no longer holds the job."""
        now = self.now()
        with write_transaction(self.sessions) as session:
            return transition(
                session,
                job_id,
                {JobState.ACTIVE},
                holder=worker_id,
                lease_until=now + timedelta(milliseconds=lease_ms),
                updated_at=now,
            )

    def update_progress(self, job_id: str, worker_id: str, stage: str, progress: float) -> bool:
        """Record the stage and progress (percent, clamped to 0-100) of a held job."""
        now = self.now()
        with write_transaction(self.sessions) as session:
            return transition(
                session,
                job_id,
                {JobState.ACTIVE},
                holder=worker_id,
                stage=stage,
                progress=_percent(progress),
                updated_at=now,
            )

    def complete(
        self,
        job_id: str,
        worker_id: str,
        assets: Sequence[AssetRecord],
        *,
        seed: int,
        stage_ms: Mapping[str, int] | None = None,
        planner: str | None = None,
    ) -> bool:
        """Mark a held, active job completed, storing its ``assets``, the ``seed`` used, how
        long each engine stage took (``stage_ms``) and which planner made its plan.

        The fingerprint is recomputed with that seed, so an unseeded job's result is also
        found by a later request that names the seed. False (and nothing stored) when
        ``worker_id`` no longer holds the job. Raises ``ValueError`` for duplicate names.
        """
        names = [asset.name for asset in assets]
        if len(set(names)) != len(names):
            raise ValueError(f"asset names must be unique within a job: {names}")
        now = self.now()
        with write_transaction(self.sessions) as session:
            job = load_job(session, job_id)
            if job is None or job.state != JobState.ACTIVE or job.worker_id != worker_id:
                return False
            completed = transition(
                session,
                job_id,
                {JobState.ACTIVE},
                holder=worker_id,
                state=JobState.COMPLETED,
                stage=Stage.COMPLETED,
                progress=100.0,
                seed=seed,
                fingerprint=_seeded_fingerprint(job, seed),
                error=None,
                error_kind=None,
                lease_until=None,
                finished_at=now,
                duration_ms=_elapsed_ms(job.started_at, now),
                stage_ms=dict(stage_ms) if stage_ms is not None else None,
                planner=planner,
                updated_at=now,
            )
            if not completed:
                return False
            session.add_all(
                Asset(id=uuid4().hex, job_id=job_id, created_at=now, **asset.model_dump())
                for asset in assets
            )
            return True

    def fail(self, job_id: str, worker_id: str, error: str, error_kind: str) -> JobRecord | None:
        """Record a failed attempt and apply the retry policy.

        Retryable with attempts left: back to ``queued``, startable after the policy's delay.
        Attempts used up: ``dead``. Kinds the policy calls final: ``failed`` (or
        ``cancelled``); a job whose cancellation was requested also ends ``cancelled``.
        Returns the updated job, or None when ``worker_id`` does not hold it.
        """
        now = self.now()
        with write_transaction(self.sessions) as session:
            job = load_job(session, job_id)
            if job is None or job.state != JobState.ACTIVE or job.worker_id != worker_id:
                return None
            decision = self.policy.decide(job.attempts, error_kind)
            changed = transition(
                session,
                job_id,
                {JobState.ACTIVE},
                holder=worker_id,
                error=error[:MAX_ERROR_CHARS],
                error_kind=error_kind,
                **after_failure(job, decision, now),
            )
            if not changed:
                return None
            job = load_job(session, job_id)
            return None if job is None else record_of(job)

    def mark_cancelled(self, job_id: str, worker_id: str) -> bool:
        """The worker stopped a held job on request: it ends ``cancelled``."""
        now = self.now()
        with write_transaction(self.sessions) as session:
            job = load_job(session, job_id)
            if job is None or job.state != JobState.ACTIVE or job.worker_id != worker_id:
                return False
            return transition(
                session,
                job_id,
                {JobState.ACTIVE},
                holder=worker_id,
                **_ended(job, JobState.CANCELLED, now),
            )

    def redrive(self, job_id: str) -> JobRecord | None:
        """Give a dead (or failed) job a fresh set of attempts. Other states: unchanged."""
        now = self.now()
        with write_transaction(self.sessions) as session:
            transition(
                session,
                job_id,
                REDRIVABLE_STATES,
                state=JobState.QUEUED,
                stage=Stage.QUEUED,
                progress=0.0,
                attempts=0,
                max_attempts=self.policy.max_attempts,
                error=None,
                error_kind=None,
                cancel_requested=False,
                run_after=now,
                worker_id=None,
                lease_until=None,
                started_at=None,
                finished_at=None,
                duration_ms=None,
                updated_at=now,
            )
            job = load_job(session, job_id)
            return None if job is None else record_of(job)

    def add_variants(self, job_ids: Sequence[str]) -> None:
        """Record ``job_ids`` as one generation, in order, named by the first. Recording the
        same generation again (a repeated request) changes nothing."""
        rows = [
            Variant(generation_id=job_ids[0], position=position, job_id=job_id)
            for position, job_id in enumerate(job_ids)
        ]
        try:
            with write_transaction(self.sessions) as session:
                named = select(Variant.position).where(Variant.generation_id == job_ids[0])
                if session.scalars(named.limit(1)).first() is None:
                    session.add_all(rows)
        except IntegrityError:  # a concurrent identical request recorded it first
            pass

    def variants(self, generation_id: str) -> list[str]:
        """The ids of the jobs of generation ``generation_id`` in order: just itself for a job
        made alone."""
        with read_transaction(self.sessions) as session:
            ids = session.scalars(
                select(Variant.job_id)
                .where(Variant.generation_id == generation_id)
                .order_by(Variant.position)
            ).all()
        return list(ids) or [generation_id]

    def clean(
        self, older_than_s: float, states: Collection[JobState] = FINISHED_STATES
    ) -> list[RemovedJob]:
        """Delete jobs in ``states`` that finished more than ``older_than_s`` ago, with their
        asset rows; returns them, for the caller to remove their files from storage.
        Only finished states may be cleaned (``ValueError`` otherwise).
        """
        unfinished = set(states) - FINISHED_STATES
        if unfinished:
            raise ValueError(f"only finished jobs can be cleaned, not {sorted(unfinished)}")
        if older_than_s < 0:
            raise ValueError(f"older_than_s must be >= 0, got {older_than_s}")
        cutoff = self.now() - timedelta(seconds=older_than_s)
        state_values = [JobState(state).value for state in states]
        with write_transaction(self.sessions) as session:
            ids = session.scalars(
                select(Job.id).where(Job.state.in_(state_values), Job.finished_at < cutoff)
            ).all()
            for start in range(0, len(ids), _DELETE_CHUNK):
                # Assets go with their job (ON DELETE CASCADE).
                session.execute(
                    delete(Job)
                    .where(Job.id.in_(ids[start : start + _DELETE_CHUNK]))
                    .execution_options(synchronize_session=False)
                )
        return [RemovedJob(job_id=job_id) for job_id in ids]

    def now(self) -> datetime:
        """The clock's "now", checked to be timezone-aware and in UTC."""
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the queue clock must return timezone-aware datetimes")
        return now.astimezone(UTC)


# An attempt that ended without a worker's report, when no retry is granted.
_GIVE_UP = RetryDecision(retry=False, delay_s=0.0, final_state=JobState.DEAD)


def _matching(search: str) -> ColumnElement[bool]:
    """Jobs whose prompt contains ``search`` (LIKE's wildcards taken literally), or whose id
    starts with it."""
    literal = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    prompt = Job.request["prompt"].as_string()
    return or_(prompt.ilike(f"%{literal}%", escape="\\"), Job.id.like(f"{literal}%", escape="\\"))


def after_failure(job: Job, decision: RetryDecision, now: datetime) -> dict[str, Any]:
    """Column values for a job whose attempt just ended without success."""
    if decision.retry and not job.cancel_requested:
        return {
            "state": JobState.QUEUED,
            "stage": Stage.QUEUED,
            "progress": 0.0,
            "run_after": now + timedelta(seconds=decision.delay_s),
            "worker_id": None,
            "lease_until": None,
            "updated_at": now,
        }
    return _ended(job, JobState.CANCELLED if job.cancel_requested else decision.next_state, now)


def _ended(job: Job, state: JobState, now: datetime) -> dict[str, Any]:
    """Column values for a job that ends in ``state`` now."""
    return {
        "state": state,
        "lease_until": None,
        "finished_at": now,
        "duration_ms": _elapsed_ms(job.started_at, now),
        "updated_at": now,
    }


def transition(
    session: Session,
    job_id: str,
    from_states: Iterable[JobState],
    *,
    holder: str | None = None,
    where: ColumnElement[bool] | None = None,
    **values: Any,
) -> bool:
    """One guarded UPDATE: applies ``values`` only if the job is in ``from_states``, held by
    ``holder`` (when given) and matches ``where`` (when given). True when the row changed.
    """
    stmt = update(Job).where(Job.id == job_id, Job.state.in_([s.value for s in from_states]))
    if holder is not None:
        stmt = stmt.where(Job.worker_id == holder)
    if where is not None:
        stmt = stmt.where(where)
    stmt = stmt.values(**values).execution_options(synchronize_session=False)
    result = cast(CursorResult[Any], session.execute(stmt))
    return result.rowcount == 1


def load_job(session: Session, job_id: str) -> Job | None:
    """The job as it is now in the database (guarded UPDATEs bypass the identity map)."""
    return session.scalar(
        select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    )


def _find_duplicate(
    session: Session,
    owner: str,
    idempotency_key: str | None,
    request: GenerationRequest,
    seed: int | None,
    fingerprint: str,
) -> Job | None:
    """The owner's job that answers this request, if any (owners never share jobs: a prompt
    is private to whoever sent it)."""
    if idempotency_key is not None:
        job = session.scalar(
            select(Job).where(Job.owner == owner, Job.idempotency_key == idempotency_key)
        )
        if job is not None:
            if job.request != request.canonical():
                raise IdempotencyConflict(
                    "this Idempotency-Key was used for a different request; "
                    "use a new key for a new request"
                )
            return job
    if seed is None:
        return None
    reusable = (JobState.COMPLETED, JobState.ACTIVE, JobState.QUEUED)
    return session.scalar(
        select(Job)
        .where(Job.owner == owner)
        .where(Job.fingerprint == fingerprint, Job.state.in_([s.value for s in reusable]))
        # A finished result beats attaching to a render in flight.
        .order_by(case((Job.state == JobState.COMPLETED, 0), else_=1), Job.created_at.desc())
        .limit(1)
    )


def _seeded_fingerprint(job: Job, seed: int) -> str:
    try:
        request = record_of(job).generation_request()
    except ValidationError:
        # Stored under older validation rules; keep the fingerprint it was queued with.
        return job.fingerprint
    return request.with_seed(seed).fingerprint()


def record_of(job: Job) -> JobRecord:
    return JobRecord.model_validate(job)


def _elapsed_ms(start: datetime | None, end: datetime) -> int | None:
    return None if start is None else round((end - start).total_seconds() * 1000)


def _percent(progress: float) -> float:
    return 0.0 if math.isnan(progress) else min(100.0, max(0.0, progress))
