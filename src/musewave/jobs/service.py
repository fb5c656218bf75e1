"""What operators and clients do with jobs: submit, cancel, re-drive, clean, read.

The API's routes and the operator CLI both call :class:`JobsService`, so both publish the same
events, count the same metrics and invalidate the same cached views. Methods block (database,
Redis): call them off the event loop, except :meth:`JobsService.get` where
:attr:`JobsService.reads_fit_event_loop` says so.

Every operation names its :class:`~musewave.access.Caller`. A job belongs to the key that made
it: other user keys are told it does not exist; admins see every job, and what they do to
other keys' jobs (and every re-drive and clean) is written to the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import TypeVar, Unpack

from musewave.access import Caller
from musewave.access.audit import audit
from musewave.cache import Cache
from musewave.engine.request import MAX_SEED, GenerationRequest
from musewave.jobs.errors import IdempotencyConflict, JobConflict, JobNotFound
from musewave.jobs.events import PublishEvent, final_event, queued_event
from musewave.jobs.queue import JobQueue
from musewave.jobs.records import EnqueueOptions, JobRecord, QueueStats, ThroughputBucket
from musewave.jobs.states import REDRIVABLE_STATES, JobState
from musewave.observability import metrics
from musewave.resilience import REQUEST_RETRY, TransientRetry
from musewave.storage import Storage

T = TypeVar("T")

# Views of finished jobs, cached by the API; whoever changes or removes a job drops its entry.
JOB_VIEWS = "job-views"


def _ignore(_event: object) -> None:
    pass


def _seed_of(idempotency_key: str) -> int:
    digest = hashlib.sha256(idempotency_key.encode()).digest()
    return int.from_bytes(digest[:4], "big") % (MAX_SEED + 1)


class JobsService:
    """Job operations on ``queue``, with files in ``storage``. ``publish`` gets the events they
    cause (default: none, for a process that streams to nobody); ``retry`` retries each call
    on transient database/Redis errors."""

    def __init__(
        self,
        queue: JobQueue,
        storage: Storage,
        cache: Cache,
        *,
        publish: PublishEvent = _ignore,
        retry: TransientRetry = REQUEST_RETRY,
    ) -> None:
        self.queue = queue
        self.storage = storage
        self.cache = cache
        self.publish = publish
        self.retry = retry

    def _call(self, operation: str, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        return self.retry.call(operation, fn, *args, **kwargs)

    def submit(
        self, request: GenerationRequest, caller: Caller, **options: Unpack[EnqueueOptions]
    ) -> tuple[JobRecord, bool]:
        """Queue ``request`` as ``caller``'s: ``(job, created)``. An existing job of the
        caller answers a repeated idempotency key or seeded request (see
        :meth:`JobStore.enqueue`)."""
        job, created = self._call(
            "enqueue job", self.queue.enqueue, request, **{**options, "owner": caller.owner}
        )
        if created:
            metrics.job_enqueued(job.priority)
            self.publish(queued_event(job))
        return job, created

    def submit_variants(
        self, request: GenerationRequest, caller: Caller, n: int, **options: Unpack[EnqueueOptions]
    ) -> list[tuple[JobRecord, bool]]:
        """Queue ``n`` renders of ``request`` with the seeds ``seed``, ``seed + 1``…, recorded
        as one generation named by the first job. Without a seed the first is random, or made
        from the ``Idempotency-Key`` (so that a repeated request is the same request). The key
        holds the first variant; variant ``i`` is held by ``<key>\\n<i>`` (a header value has
        no line feed, so no client key is one of these). A key reused with another ``n`` is
        an :class:`IdempotencyConflict`."""
        key = options.get("idempotency_key")
        first_seed = request.seed
        if n > 1 and first_seed is None:
            first_seed = _seed_of(key) if key is not None else secrets.randbelow(MAX_SEED)
        submitted: list[tuple[JobRecord, bool]] = []
        for i in range(n):
            seed = None if first_seed is None else (first_seed + i) % (MAX_SEED + 1)
            variant = request if seed is None else request.with_seed(seed)
            variant_options: EnqueueOptions = {**options}
            if key is not None and i > 0:
                variant_options["idempotency_key"] = f"{key}\n{i}"
            submitted.append(self.submit(variant, caller, **variant_options))
            if i == 0 and key is not None and not submitted[0][1]:
                self._same_variant_count(submitted[0][0], n)
        if n > 1:
            job_ids = [job.id for job, _ in submitted]
            self._call("record variants", self.queue.store.add_variants, job_ids)
        return submitted

    def _same_variant_count(self, first: JobRecord, n: int) -> None:
        """A key that answers with an existing job must have asked for as many variants."""
        made = self._call("read variants", self.queue.store.variants, first.id)
        if len(made) != n:
            raise IdempotencyConflict(
                f"this Idempotency-Key was used for a request of {len(made)} variant(s)"
            )

    def generation(self, generation_id: str, caller: Caller) -> list[JobRecord]:
        """The jobs of a generation (a job made alone is a generation of one), in order."""
        first = self.get(generation_id, caller)
        job_ids = self._call("read variants", self.queue.store.variants, generation_id)
        return [first if job_id == first.id else self.get(job_id, caller) for job_id in job_ids]

    def cancel_generation(self, generation_id: str, caller: Caller) -> list[JobRecord]:
        """Cancel every unfinished job of a generation; the jobs as they are after."""
        jobs = []
        for job in self.generation(generation_id, caller):
            if not job.state.is_finished:
                try:
                    job = self.cancel(job.id, caller)
                except JobConflict:  # it finished meanwhile
                    job = self.get(job.id, caller)
            jobs.append(job)
        return jobs

    @property
    def reads_fit_event_loop(self) -> bool:
        """Whether :meth:`get` and cached job views may be read on the event loop: the store
        and the cache are both in-process (embedded SQLite, local cache), so the read costs
        less than handing it to a worker thread. Never with PostgreSQL or Redis."""
        return self.queue.store.reads_fit_event_loop and self.cache.reads_fit_event_loop

    def get(self, job_id: str, caller: Caller, *, on_loop: bool = False) -> JobRecord:
        """The job, if ``caller`` may see it; else :class:`JobNotFound`. ``on_loop``: called
        on the event loop (see :attr:`reads_fit_event_loop`): one try, never a retry's sleep;
        a database error is the caller's to handle."""
        if on_loop:
            job = self.queue.store.get(job_id, on_loop=True)
        else:
            job = self._call("read job", self.queue.store.get, job_id)
        if job is None or not (caller.is_admin or job.owner == caller.owner):
            raise JobNotFound(job_id)
        return job

    def list_jobs(
        self,
        caller: Caller,
        *,
        state: JobState | None = None,
        limit: int = 50,
        cursor: str | None = None,
        search: str | None = None,
    ) -> tuple[list[JobRecord], str | None]:
        """The jobs ``caller`` may see, newest first (``search``: whose prompt contains it, or
        whose id starts with it); raises
        :class:`~musewave.jobs.errors.InvalidCursor` for a cursor this server did not give
        out."""
        owner = None if caller.is_admin else caller.owner
        return self._call(
            "list jobs",
            self.queue.store.list_jobs,
            state=state,
            owner=owner,
            limit=limit,
            cursor=cursor,
            search=search,
        )

    def stats(self) -> QueueStats:
        return self._call("count jobs", self.queue.store.stats)

    def throughput(self, window_s: float, bucket_s: float) -> list[ThroughputBucket]:
        """Finished jobs per time bucket over the last ``window_s`` seconds (every owner's)."""
        return self._call("count finished jobs", self.queue.store.throughput, window_s, bucket_s)

    def cancel(self, job_id: str, caller: Caller) -> JobRecord:
        """A queued job ends ``cancelled`` now; an active one stops at its next checkpoint.
        Raises :class:`JobNotFound`, or :class:`JobConflict` for a finished job."""
        job = self.get(job_id, caller)
        if job.owner != caller.owner:
            audit("cancel", caller, job_id=job_id, owner=job.owner)
        if job.state.is_finished:
            raise JobConflict(f"job {job_id} is already {job.state.value}")
        updated = self._call("cancel job", self.queue.cancel, job_id)
        if updated is None:
            raise JobNotFound(job_id)
        if updated.state is JobState.CANCELLED:  # it was queued (a running job stops later)
            metrics.job_cancelled()  # an active job's cancel is counted by its worker
            self._ended(updated)
        return updated

    def enforce_deadlines(self) -> list[JobRecord]:
        """Stop the jobs whose deadline has passed: one that never started ends ``aborted``,
        one that did is cancelled (a running one at its next checkpoint). Returns them as
        they are after; safe to run from every API process at once."""
        stopped = []
        for job in self._call("find jobs past their deadline", self.queue.store.past_deadline):
            if job.state is JobState.QUEUED and job.attempts == 0:
                updated = self._call("abort job", self.queue.abort, job.id)
            else:
                updated = self._call("cancel job", self.queue.cancel, job.id)
            if updated is None:
                continue
            if updated.state.is_finished:
                self._ended(updated)
            stopped.append(updated)
        return stopped

    def redrive(self, job_id: str, caller: Caller) -> JobRecord:
        """A dead or failed job goes back to the queue with a fresh set of attempts. Raises
        :class:`JobNotFound`, :class:`JobConflict` for other states, and
        :class:`~musewave.jobs.errors.QueueUnavailable` when the scheduler is unreachable."""
        job = self.get(job_id, caller)
        audit("redrive", caller, job_id=job_id, owner=job.owner)
        if job.state not in REDRIVABLE_STATES:
            raise JobConflict(f"only dead or failed jobs can be re-driven; {job_id} is {job.state}")
        updated = self._call("re-drive job", self.queue.redrive, job_id)
        if updated is None:
            raise JobNotFound(job_id)
        self.cache.delete(JOB_VIEWS, job_id)
        if updated.state is JobState.QUEUED:
            self.publish(queued_event(updated))
        return updated

    def clean(self, older_than_s: float, caller: Caller) -> list[str]:
        """Delete finished jobs older than ``older_than_s`` with their files; their ids."""
        # Not retried: a delete whose reply was lost would be retried into an empty answer,
        # and the files of the jobs it did delete would stay behind.
        removed = self.queue.clean(older_than_s)
        audit("clean", caller, older_than_s=older_than_s, removed=len(removed))
        for job in removed:
            self.cache.delete(JOB_VIEWS, job.job_id)
            self.storage.remove(job.job_id)
        return [job.job_id for job in removed]

    def _ended(self, job: JobRecord) -> None:
        self.cache.delete(JOB_VIEWS, job.id)
        event = final_event(job)
        if event is not None:
            self.publish(event)
