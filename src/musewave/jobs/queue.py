"""The job queue as the rest of MuseWave sees it: one protocol, two backends, one opener.

``open_queue(settings)`` opens the backend the settings ask for (BullMQ when
``MUSEWAVE_REDIS_URL`` is set, else the local scheduler) on its own database engine, and
closes both. Nothing outside this package asks which backend is running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, Unpack

from musewave.config import Settings
from musewave.db import make_engine, make_session_factory
from musewave.engine.request import GenerationRequest
from musewave.jobs.events import PublishEvent
from musewave.jobs.policy import RetryPolicy
from musewave.jobs.records import EnqueueOptions, JobRecord, RemovedJob
from musewave.jobs.store import JobStore


class JobQueue(Protocol):
    """What the API and the operator CLI ask of a backend. Reads go to :attr:`store`, the
    system of record; the operations here also change what should run."""

    name: str  # "local" or "bullmq": for health detail, never for decisions
    store: JobStore

    def enqueue(
        self, request: GenerationRequest, **options: Unpack[EnqueueOptions]
    ) -> tuple[JobRecord, bool]:
        """Accept a job (or find the one that answers it): ``(job, created)``; see
        :meth:`JobStore.enqueue`."""
        ...

    def cancel(self, job_id: str) -> JobRecord | None:
        """Queued: cancelled at once. Active: stops at its next checkpoint."""
        ...

    def abort(self, job_id: str) -> JobRecord | None:
        """A queued job that never started ends ``aborted`` (its deadline passed)."""
        ...

    def redrive(self, job_id: str) -> JobRecord | None:
        """A dead or failed job gets a fresh set of attempts. Raises
        :class:`~musewave.jobs.errors.QueueUnavailable` when the scheduler cannot take it."""
        ...

    def clean(self, older_than_s: float) -> list[RemovedJob]:
        """Delete finished jobs older than ``older_than_s``; their files are the caller's."""
        ...

    def check(self) -> None:
        """Raise when the backend's services are unfit to hold jobs (before starting)."""
        ...

    def health(self) -> dict[str, Any]:
        """Detail for ``/health``; ``ok`` False when jobs cannot run."""
        ...

    async def start(self, publish: PublishEvent, *, run_workers: bool = True) -> None:
        """In the API's event loop: start the event source (``publish`` gets every job event,
        from any thread) and the background work the backend needs."""
        ...

    async def stop(self) -> None:
        """End what :meth:`start` began."""
        ...

    def close(self) -> None:
        """Release connections (the database engine is the opener's)."""
        ...


@contextmanager
def open_store(settings: Settings, **engine_options: Any) -> Iterator[JobStore]:
    """The job store on the settings' database, with the settings' retry policy; the
    database engine is disposed of on exit."""
    engine = make_engine(settings.resolved_database_url, **engine_options)
    store = JobStore(make_session_factory(engine), RetryPolicy.from_settings(settings))
    try:
        yield store
    finally:
        store.close()
        engine.dispose()


@contextmanager
def open_queue(settings: Settings) -> Iterator[JobQueue]:
    """The backend the settings ask for, closed (with its database engine) on exit."""
    with open_store(settings) as store:
        queue: JobQueue
        if settings.redis_url:
            from musewave.jobs.bullmq_backend import BullMQBackend  # bullmq loads only here

            queue = BullMQBackend(store, settings)
        else:
            from musewave.jobs.local_backend import LocalBackend

            queue = LocalBackend(store, settings)
        try:
            yield queue
        finally:
            queue.close()
