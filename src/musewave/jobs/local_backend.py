"""The embedded backend: the local scheduler on the SQL store, and worker processes owned by
this (the ``musewave serve``) process."""

from __future__ import annotations

import asyncio
from typing import Any, Unpack

from musewave.config import Settings
from musewave.engine.request import GenerationRequest
from musewave.jobs.events import PublishEvent
from musewave.jobs.local_pool import LocalWorkerPool, worker_id_prefix
from musewave.jobs.local_scheduler import LocalScheduler
from musewave.jobs.records import EnqueueOptions, JobRecord, RemovedJob
from musewave.jobs.states import JobState
from musewave.jobs.store import JobStore
from musewave.observability import metrics
from musewave.observability.logging import get_logger

log = get_logger(__name__)

WORKER_CHECK_S = 1.0


class LocalBackend:
    """Jobs scheduled by :class:`LocalScheduler` and run by :class:`LocalWorkerPool`.

    :meth:`start` (in the API's event loop) recovers jobs a previous run left active, starts
    the worker processes and the background checks; :meth:`stop` ends them. Without
    :meth:`start` (the operator CLI) it only changes the store: the server's workers see the
    changes at their next poll.
    """

    name = "local"

    def __init__(self, store: JobStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.scheduler = LocalScheduler(store, rate_limit_per_s=settings.rate_limit_per_s)
        self.pool: LocalWorkerPool | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def enqueue(
        self, request: GenerationRequest, **options: Unpack[EnqueueOptions]
    ) -> tuple[JobRecord, bool]:
        job, created = self.store.enqueue(request, **options)
        if created:
            self._wake(1)
        return job, created

    def cancel(self, job_id: str) -> JobRecord | None:
        return self.store.cancel(job_id)

    def abort(self, job_id: str) -> JobRecord | None:
        return self.store.abort(job_id)

    def redrive(self, job_id: str) -> JobRecord | None:
        job = self.store.redrive(job_id)
        if job is not None and job.state is JobState.QUEUED:
            self._wake(1)
        return job

    def clean(self, older_than_s: float) -> list[RemovedJob]:
        return self.store.clean(older_than_s)

    def check(self) -> None:
        """Nothing beyond the database to check."""

    def health(self) -> dict[str, Any]:
        alive = self.pool.alive() if self.pool is not None else 0
        return {
            "ok": alive > 0,
            "backend": self.name,
            "workers_alive": alive,
            "workers_configured": self.settings.concurrency,
        }

    async def start(self, publish: PublishEvent, *, run_workers: bool = True) -> None:
        """Take over the queue: ``publish`` gets every event the workers send (on their pump
        thread). ``run_workers`` False: no worker processes (tests that drive the store)."""
        # Anything "active" now was orphaned by a previous run that died: back to the queue
        # before workers start.
        await self._settle_abandoned(self.scheduler.recover_all_active)
        if run_workers:
            self.pool = LocalWorkerPool(self.settings, publish)
            self.pool.start()
            self._tasks.append(asyncio.create_task(self._replace_dead_workers_forever()))
        self._tasks.append(asyncio.create_task(self._requeue_stalled_forever()))

    async def stop(self) -> None:
        """End the background checks, then let busy workers finish for up to the shutdown
        grace; jobs of workers killed after it go back to the queue."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.pool is not None:
            killed = await asyncio.to_thread(self.pool.stop, self.settings.shutdown_grace_s)
            if killed:
                await asyncio.to_thread(self.scheduler.recover_all_active)

    def close(self) -> None:
        """Nothing beyond the store's database engine, which its opener disposes of."""

    def _wake(self, jobs: int) -> None:
        if self.pool is not None:
            for _ in range(jobs):
                self.pool.notify()

    async def _settle_abandoned(self, settle: Any, *args: Any) -> None:
        """Run ``settle`` (a scheduler call that puts back jobs whose worker is gone), count
        the outcome of each attempt it ended, and wake a worker per re-queued job."""
        job_ids: list[str] = await asyncio.to_thread(settle, *args)
        for job_id in job_ids:
            job = await asyncio.to_thread(self.store.get, job_id)
            if job is not None:
                metrics.job_abandoned(job.state)
        self._wake(len(job_ids))

    async def _requeue_stalled_forever(self) -> None:
        """Jobs whose worker stopped renewing its lease go back to the queue."""
        while True:
            await asyncio.sleep(self.settings.stalled_check_s)
            try:
                await self._settle_abandoned(self.scheduler.requeue_stalled)
            except Exception as error:  # the database briefly unavailable: next round
                log.warning("stalled-job check skipped", error=str(error))

    async def _replace_dead_workers_forever(self) -> None:
        """A worker that died (crash, OOM kill) is restarted and its jobs re-queued at once,
        instead of waiting for their leases to expire."""
        assert self.pool is not None
        while True:
            await asyncio.sleep(WORKER_CHECK_S)
            for pid in self.pool.replace_dead():
                metrics.mark_process_dead(pid)  # its gauges go: no longer a live worker
                try:
                    await self._settle_abandoned(
                        self.scheduler.release_worker, worker_id_prefix(pid)
                    )
                except Exception as error:  # its leases expire: the stalled check has them
                    log.warning("could not re-queue a dead worker's jobs", error=str(error))
