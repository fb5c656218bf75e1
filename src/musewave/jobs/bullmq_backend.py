"""The production queue: BullMQ on Redis schedules, the SQL database remembers.

Division of labour. The database stays the system of record (every job, its state, progress,
attempts and assets; ``GET /v1/jobs/{id}`` never depends on Redis retention) and keeps doing
what it does in embedded mode: idempotency keys, the seeded-duplicate check and the result
cache by fingerprint. BullMQ decides *when and where* a job runs: priorities, the global start
rate limit, locks renewed while a job runs, stalled-job recovery, and retries with the shared
backoff. A job's BullMQ id is its database id; its payload is plain JSON (``job_id``, the
normalized ``request``, ``request_id``, ``trace_context``) that a Node.js client can read.

The dead-letter queue is BullMQ's failed set, mirrored by the database state ``dead``
(listable with the admin API); re-driving a job gives it fresh attempts in both.

Enqueueing writes the database first, then adds the BullMQ job. If Redis is unreachable at that
moment, or loses a write (an AOF restart can drop the last second), the job is still accepted:
:meth:`BullMQBackend.reconcile`, run periodically by every API process, adds queued jobs BullMQ
does not know and settles jobs BullMQ gave up on.

Every API process holds one :class:`~musewave.jobs.bullmq_events.QueueEventsRelay` (started by
:meth:`BullMQBackend.start`), which turns the workers' progress and BullMQ's own completed,
failed and removed events into job events for that process's streams.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar, Unpack

from bullmq import Queue
from redis.exceptions import RedisError

from musewave.config import Settings
from musewave.engine.request import GenerationRequest
from musewave.jobs.bullmq_options import (
    JOB_NAME,
    cancel_channel,
    is_worker_client,
    job_options,
    queue_options,
)
from musewave.jobs.errors import QueueUnavailable
from musewave.jobs.events import PublishEvent
from musewave.jobs.records import EnqueueOptions, JobRecord, RemovedJob
from musewave.jobs.states import REDRIVABLE_STATES, JobState
from musewave.jobs.store import JobStore
from musewave.redis_connections import require_noeviction

log = logging.getLogger(__name__)

T = TypeVar("T")
REDIS_CALL_TIMEOUT_S = 10.0
# A request waits no longer than this for Redis to take a new job: the job is accepted already
# (it is in the database); the add goes on in the background, and reconcile() is the backstop.
ENQUEUE_TIMEOUT_S = 2.0
RECONCILE_GRACE_S = 10.0  # younger jobs may still be on their way into BullMQ
_REDIS_ERRORS = (RedisError, OSError, TimeoutError)


class _LoopThread:
    """An event loop on a daemon thread: bullmq is asyncio-only, while the queue API is
    synchronous (called from request threads, the CLI and worker threads alike)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="musewave-bullmq", daemon=True
        )
        self._thread.start()

    def run(
        self,
        coroutine: Coroutine[Any, Any, T],
        timeout_s: float = REDIS_CALL_TIMEOUT_S,
        *,
        keep_trying: bool = False,
    ) -> T:
        """Run ``coroutine`` on the loop; raise ``TimeoutError`` after ``timeout_s``. The call
        is then cancelled, or with ``keep_trying`` left to finish in the background."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout_s)
        except TimeoutError:
            if keep_trying:
                future.add_done_callback(_log_late_failure)
            else:
                future.cancel()
            raise TimeoutError(f"Redis did not answer within {timeout_s:g} s") from None

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


def _log_late_failure(future: concurrent.futures.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("a Redis call given up on by its caller failed: %s", future.exception())


def job_payload(job: JobRecord) -> dict[str, Any]:
    """What a BullMQ job carries: plain JSON, readable by any BullMQ client."""
    return {
        "job_id": job.id,
        "request": job.request,
        "request_id": job.request_id,
        "trace_context": job.trace_context,
    }


class BullMQBackend:
    """The :class:`JobStore` (the system of record) plus the BullMQ queue that schedules jobs.

    Only the operations that change what should run touch Redis: enqueue, cancel, re-drive and
    clean. Reads are the store's. Workers report to the store too; BullMQ hands them jobs (see
    :mod:`musewave.jobs.bullmq_worker`). Close it with :meth:`close`.
    """

    name = "bullmq"

    def __init__(self, store: JobStore, settings: Settings) -> None:
        if settings.redis_url is None:
            raise ValueError("BullMQBackend needs settings.redis_url")
        self.store = store
        self._settings = settings
        self._reconciled_up_to: tuple[datetime, str] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.relay: Any = None  # the QueueEventsRelay, once started
        self._io = _LoopThread()
        try:
            self._bull: Queue = self._io.run(self._open())
        except BaseException:
            self._io.close()
            raise

    async def _open(self) -> Queue:
        return Queue(self._settings.queue_name, queue_options(self._settings))

    def check(self) -> None:
        """Fail (or warn, see Settings.require_noeviction) unless the Redis is fit for a queue."""
        assert self._settings.redis_url is not None
        require_noeviction(self._settings.redis_url, required=self._settings.require_noeviction)

    def health(self) -> dict[str, Any]:
        """The API needs Redis and its event relay; workers run elsewhere (none alive is an
        alert, not a reason to stop accepting jobs)."""
        redis_ok = self.ping()
        relay_ok = self.relay is not None and self.relay.connected.is_set()
        detail: dict[str, Any] = {
            "ok": redis_ok and relay_ok,
            "backend": self.name,
            "queue": self._settings.queue_name,
            "redis": redis_ok,
            "events_relay": relay_ok,
        }
        if redis_ok:
            try:
                detail["workers_alive"] = self.worker_count()
                detail["bullmq_counts"] = self.bull_counts()
            except Exception as error:  # a probe reports, it never raises
                detail["error"] = str(error)
        return detail

    async def start(self, publish: PublishEvent, *, run_workers: bool = True) -> None:
        """Relay the queue's events to ``publish`` and reconcile every stalled-check interval
        (``musewave worker`` processes run the jobs, whatever ``run_workers`` says)."""
        from musewave.jobs.bullmq_events import QueueEventsRelay, reconcile_forever

        self.relay = QueueEventsRelay(self, self._settings, publish)
        self._tasks.append(asyncio.create_task(self.relay.run_forever()))
        self._tasks.append(asyncio.create_task(reconcile_forever(self, self._settings, publish)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def ping(self) -> bool:
        try:
            return bool(self._io.run(self._bull.client.ping(), timeout_s=2.0))
        except _REDIS_ERRORS:
            return False

    def close(self) -> None:
        try:
            self._io.run(self._bull.close(), timeout_s=5.0)
        except _REDIS_ERRORS:
            log.warning("could not close the BullMQ queue connection cleanly")
        self._io.close()

    # --- producer side -----------------------------------------------------------------------

    def enqueue(
        self, request: GenerationRequest, **options: Unpack[EnqueueOptions]
    ) -> tuple[JobRecord, bool]:
        job, created = self.store.enqueue(request, **options)
        if created:
            self._submit_or_defer(job)
        return job, created

    def _submit_or_defer(self, job: JobRecord) -> None:
        try:
            self.submit(job, timeout_s=ENQUEUE_TIMEOUT_S)
        except _REDIS_ERRORS as error:
            # The job is accepted (it is in the database); reconcile() hands it to BullMQ.
            log.warning("job %s queued in the database only for now (Redis: %s)", job.id, error)

    def submit(self, job: JobRecord, timeout_s: float = REDIS_CALL_TIMEOUT_S) -> None:
        """Add ``job`` to BullMQ (a no-op if BullMQ already has a job with its id). After
        ``timeout_s`` the caller goes on while the add keeps trying in the background."""
        options = job_options(self._settings, job.id, job.priority)
        add = self._bull.add(JOB_NAME, job_payload(job), options)
        self._io.run(add, timeout_s, keep_trying=True)

    def cancel(self, job_id: str) -> JobRecord | None:
        job = self.store.cancel(job_id)
        if job is None:
            return None
        try:
            if job.state is JobState.CANCELLED:
                # Gone from the queue at once; if a worker took it meanwhile, begin_attempt
                # sees the cancelled state and settles it without running.
                self._io.run(self._bull.remove(job_id))
            elif job.state is JobState.ACTIVE:
                # The worker holding it aborts at its next checkpoint; it also re-reads the
                # database flag there, so a lost message only delays the stop.
                self._io.run(self._bull.client.publish(cancel_channel(self._settings), job_id))
        except _REDIS_ERRORS as error:
            log.warning("cancel of job %s reached the database only (Redis: %s)", job_id, error)
        return job

    def abort(self, job_id: str) -> JobRecord | None:
        job = self.store.abort(job_id)
        if job is not None and job.state is JobState.ABORTED:
            try:  # as for a cancel: a worker that took it meanwhile sees the state and skips
                self._io.run(self._bull.remove(job_id))
            except _REDIS_ERRORS as error:
                log.warning("abort of job %s reached the database only (Redis: %s)", job_id, error)
        return job

    def redrive(self, job_id: str) -> JobRecord | None:
        before = self.store.get(job_id)
        if before is None or before.state not in REDRIVABLE_STATES:
            return before  # unchanged: nothing to re-drive
        # The failed BullMQ job goes first: left in place, it would make reconcile() settle
        # the re-driven job as lost again. Without Redis nothing changes.
        try:
            self._io.run(self._bull.remove(job_id))
        except _REDIS_ERRORS as error:
            raise QueueUnavailable(f"cannot re-drive job {job_id} now (Redis: {error})") from None
        job = self.store.redrive(job_id)
        if job is not None and job.state is JobState.QUEUED:
            self._submit_or_defer(job)  # a fresh BullMQ job (full attempts), same id
        return job

    def clean(self, older_than_s: float) -> list[RemovedJob]:
        removed = self.store.clean(older_than_s)
        for job in removed:
            try:
                self._io.run(self._bull.remove(job.job_id))
            except _REDIS_ERRORS:
                break  # BullMQ drops old finished jobs by itself (removeOnComplete/Fail)
        return removed

    # --- keeping the two stores in step --------------------------------------------------------

    def reconcile(self, limit: int = 200) -> dict[str, list[str]]:
        """Queued or active jobs in the database that BullMQ lost are added again; jobs BullMQ
        failed without a worker reporting (stalled too often) are settled as dead. Returns the
        ids handled, by action. Safe to run from several processes at once."""
        cutoff = self.store.now() - timedelta(seconds=RECONCILE_GRACE_S)
        # A page per call, the next one on the next call, so a long backlog is covered in turn.
        jobs = self.store.unfinished(
            created_before=cutoff, limit=limit, after=self._reconciled_up_to
        )
        self._reconciled_up_to = (jobs[-1].created_at, jobs[-1].id) if len(jobs) == limit else None
        actions: dict[str, list[str]] = {"resubmitted": [], "settled": []}
        for job in jobs:
            state = self._io.run(self._bull.getJobState(job.id))
            if state == "unknown":
                self.submit(job)
                actions["resubmitted"].append(job.id)
            elif state == "failed":
                reason = self._io.run(self._failed_reason(job.id))
                if self.store.settle_lost(job.id, reason) is not None:
                    actions["settled"].append(job.id)
        return actions

    def settle_if_failed(self, job_id: str, reason: str) -> JobRecord | None:
        """Settle a job (see :meth:`settle_lost`) only if BullMQ holds it failed right now: a
        late or replayed ``failed`` event must not undo a re-drive."""
        if self._io.run(self._bull.getJobState(job_id)) != "failed":
            return None
        return self.store.settle_lost(job_id, reason)

    async def _failed_reason(self, job_id: str) -> str:
        bull_job = await self._bull.getJob(job_id)
        reason = getattr(bull_job, "failedReason", None) if bull_job else None
        return f"BullMQ failed the job: {reason or 'no reason recorded'}"

    def worker_count(self) -> int:
        """BullMQ workers connected to this queue (one per ``musewave worker`` process slot).

        Each worker holds two named connections (commands, and blocking reads), so clients
        are counted by name (see :func:`~musewave.jobs.bullmq_options.worker_client_name`)."""
        clients = self._io.run(self._bull.client.client_list())
        names = {str(client.get("name") or "") for client in clients}
        return sum(1 for name in names if is_worker_client(name, self._settings.queue_name))

    def bull_counts(self) -> dict[str, int]:
        """BullMQ's own job counts per state (for health detail and dashboards)."""
        counts = self._io.run(
            self._bull.getJobCounts(
                "waiting", "prioritized", "active", "delayed", "completed", "failed"
            )
        )
        return {str(k): int(v) for k, v in counts.items()}
