"""One BullMQ worker process of ``musewave worker``: takes jobs from Redis, runs them with
:class:`~musewave.jobs.runner.JobRunner`, and reports through BullMQ and the database.

Each process runs one job at a time (rendering is CPU-bound; ``--concurrency N`` starts N of
these processes). The engine runs on a thread so the process's event loop stays free to renew
BullMQ's lock and to hear cancellations.

How outcomes map onto BullMQ:

- completed: the processor returns; BullMQ moves the job to completed.
- failed attempt with retries left (the shared policy, applied by the database): a plain
  error, so BullMQ retries after the custom backoff (2 s, 6 s, 18 s).
- cancelled, invalid, or attempts used up: ``UnrecoverableError``, so BullMQ does not retry
  (a cancelled job would otherwise be retried).

Progress events go out through ``job.updateProgress`` (the API's QueueEvents reader fans them
out to WebSocket and SSE clients), and state is written to the database as well. How a job
ended reaches the API through BullMQ's own completed/failed events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bullmq import UnrecoverableError, Worker
from redis.exceptions import RedisError

from musewave.config import Settings
from musewave.jobs.bullmq_options import cancel_channel, worker_options
from musewave.jobs.events import JobEvent
from musewave.jobs.local_pool import begin_worker_process, worker_id_prefix
from musewave.jobs.queue import open_store
from musewave.jobs.records import AssetRecord, JobRecord
from musewave.jobs.runner import JobRunner, job_breakers
from musewave.jobs.states import JobState
from musewave.jobs.store import JobStore
from musewave.observability import metrics
from musewave.planning import Planner
from musewave.redis_connections import blocking_client
from musewave.storage import Storage, open_storage

log = logging.getLogger(__name__)

CANCEL_LISTENER_RETRY_S = 1.0
STOP_POLL_S = 0.2


class RetryableAttemptError(RuntimeError):
    """This attempt failed and the retry policy grants another: BullMQ should retry after
    ``retry_delay_ms``, the delay the policy chose (read by the backoff strategy, so an open
    circuit breaker's longer wait applies here too)."""

    def __init__(self, message: str, retry_delay_ms: int | None):
        super().__init__(message)
        self.retry_delay_ms = retry_delay_ms


class _SignalledStore:
    """The job store as a :class:`JobRunner` sees it, where "cancel requested" also means the
    job's BullMQ abort signal fired (a cancel from the API, via Redis pub/sub)."""

    def __init__(self, store: JobStore):
        self.store = store
        self.signals: dict[str, Any] = {}

    def renew_lease(self, job_id: str, worker_id: str, lease_ms: int) -> bool:
        return self.store.renew_lease(job_id, worker_id, lease_ms)

    def update_progress(self, job_id: str, worker_id: str, stage: str, progress: float) -> bool:
        return self.store.update_progress(job_id, worker_id, stage, progress)

    def is_cancel_requested(self, job_id: str) -> bool:
        abort_signal = self.signals.get(job_id)
        if abort_signal is not None and abort_signal.aborted:
            return True
        return self.store.is_cancel_requested(job_id)

    def complete(
        self,
        job_id: str,
        worker_id: str,
        assets: list[AssetRecord],
        *,
        seed: int,
        stage_ms: Mapping[str, int] | None = None,
        planner: str | None = None,
    ) -> bool:
        return self.store.complete(
            job_id, worker_id, assets, seed=seed, stage_ms=stage_ms, planner=planner
        )

    def fail(self, job_id: str, worker_id: str, error: str, error_kind: str) -> JobRecord | None:
        return self.store.fail(job_id, worker_id, error, error_kind)

    def mark_cancelled(self, job_id: str, worker_id: str) -> bool:
        return self.store.mark_cancelled(job_id, worker_id)


class JobProcessor:
    """BullMQ's processor for MuseWave jobs (``process`` takes the abort signal, so
    ``Worker.cancelJob`` reaches it)."""

    def __init__(self, settings: Settings, store: JobStore, storage: Storage, worker_id: str):
        self.settings = settings
        self.store = store
        self.storage = storage
        self.worker_id = worker_id
        self.signalled = _SignalledStore(store)
        self.breakers = job_breakers(settings)  # shared through Redis
        self.planner = Planner.from_settings(settings, self.breakers)

    async def process(self, job: Any, token: str, abort_signal: Any) -> dict[str, Any]:
        job_id = str(job.id)
        # attemptsStarted also counts starts whose worker died (BullMQ re-runs a stalled job
        # without raising attemptsMade): a killed attempt counts, as in embedded mode.
        attempt = max(int(job.attemptsMade) + 1, int(job.attemptsStarted or 0))
        start = await asyncio.to_thread(
            self.store.begin_attempt, job_id, self.worker_id, attempt, self.settings.lease_ms
        )
        if start is None:
            raise UnrecoverableError(f"job {job_id} is not in the database")
        record = start.job
        if start.took_over:  # the attempt before this one ended with its worker
            metrics.job_abandoned(
                JobState.QUEUED if record.state is JobState.ACTIVE else record.state
            )
        if record.state is not JobState.ACTIVE:
            # Finished already (maybe just now, see begin_attempt): don't run it again. Ending
            # the BullMQ job tells the API how it ended (see _pump).
            if record.state is JobState.COMPLETED:
                return {"state": "completed"}
            raise UnrecoverableError(record.error or record.state.value)

        state = await self._run(job, record, abort_signal)
        if state is JobState.COMPLETED:
            return {"state": "completed"}
        if state is JobState.QUEUED:
            latest = await asyncio.to_thread(self.store.get, job_id)
            if latest is None:
                raise RetryableAttemptError("failed", None)
            delay_s = (latest.run_after - datetime.now(UTC)).total_seconds()
            raise RetryableAttemptError(latest.error or "failed", max(0, round(delay_s * 1000)))
        if state is JobState.ACTIVE:
            raise RuntimeError("another worker took over this job")
        raise UnrecoverableError(state.value)

    async def _run(self, job: Any, record: JobRecord, abort_signal: Any) -> JobState:
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[JobEvent | None] = asyncio.Queue()

        def emit(event: JobEvent) -> None:  # called on the engine thread
            loop.call_soon_threadsafe(events.put_nowait, event)

        runner = JobRunner(
            self.signalled,
            self.storage,
            self.worker_id,
            lease_ms=self.settings.lease_ms,
            emit=emit,
            fail_attempts=self.settings.test_fail_attempts,
            breakers=self.breakers,
            planner=self.planner,
        )
        pump = asyncio.create_task(_pump(job, events))
        self.signalled.signals[record.id] = abort_signal
        try:
            return await asyncio.to_thread(runner.run, record)
        finally:
            self.signalled.signals.pop(record.id, None)
            events.put_nowait(None)
            await pump


async def _pump(job: Any, events: asyncio.Queue[JobEvent | None]) -> None:
    """Publish the runner's events in order, one Redis call at a time. Final events are not
    published: the BullMQ job's own end (completed, failed) is the API's one source for them,
    read back from the database with the job's result."""
    while (event := await events.get()) is not None:
        if not event.is_terminal:
            await _publish(job, event)


async def _publish(job: Any, event: JobEvent) -> None:
    try:
        await job.updateProgress(event.model_dump(mode="json"))
    except (RedisError, OSError) as error:  # the database still has the state
        log.warning("could not publish %s event of job %s: %s", event.type, job.id, error)


async def listen_for_cancels(worker: Worker, settings: Settings) -> None:
    """Abort jobs this worker holds when the API publishes their id; reconnects forever."""
    assert settings.redis_url is not None
    while True:
        client = blocking_client(settings.redis_url)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(cancel_channel(settings))
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        job_id = message["data"]
                        if isinstance(job_id, bytes):
                            job_id = job_id.decode()
                        worker.cancelJob(str(job_id), "cancelled by request")
        except (RedisError, OSError) as error:
            log.warning("cancel listener lost Redis (%s); reconnecting", error)
        finally:
            await client.aclose()
        await asyncio.sleep(CANCEL_LISTENER_RETRY_S)


async def serve_jobs(settings: Settings, slot: int, stop: Any) -> None:
    """Run a BullMQ worker until ``stop`` (a multiprocessing Event) is set, then finish the
    current job and close."""
    with open_store(settings, pool_size=2, max_overflow=2) as store:
        await _serve_jobs(settings, store, slot, stop)


async def _serve_jobs(settings: Settings, store: JobStore, slot: int, stop: Any) -> None:
    worker_id = f"{worker_id_prefix(os.getpid())}{slot}"
    processor = JobProcessor(settings, store, open_storage(settings.storage_dir), worker_id)
    metrics.worker_process_started()  # alive from now on, busy or not
    options = {**worker_options(settings, name=worker_id), "autorun": False}
    worker = Worker(settings.queue_name, processor.process, options)
    worker.on("error", lambda error, *_: log.warning("BullMQ worker error: %s", error))
    # Until bullmq knows the Redis version it rounds blocking waits up to whole seconds, so
    # delayed jobs (retries) would start up to a second late.
    await worker.blockingRedisConnection.getRedisVersion()
    running = asyncio.create_task(worker.run())
    listener = asyncio.create_task(listen_for_cancels(worker, settings))
    try:
        # Poll rather than block in stop.wait(): a waiter killed by SIGKILL never acknowledges
        # the multiprocessing Event's notify, so the parent's stop.set() would block forever.
        while not stop.is_set():
            if running.done() or listener.done():
                # bullmq's run loop returns on an unexpected error: a process that takes no
                # more jobs must exit, so that its owner starts a new one.
                broken = running if running.done() else listener
                log.error("worker loop ended unexpectedly: %r", _outcome(broken))
                break
            await asyncio.sleep(STOP_POLL_S)
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener
        await worker.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await running  # its error, if any, was logged above
        processor.planner.close()
        processor.breakers.close()


def _outcome(task: asyncio.Task[Any]) -> BaseException | None:
    return None if task.cancelled() else task.exception()


def bullmq_worker_main(
    settings_data: dict[str, Any], slot: int, _events: Any, _wake: Any, stop: Any
) -> None:
    """Entry point of one worker process, run by a
    :class:`~musewave.jobs.local_pool.LocalWorkerPool`."""
    settings = begin_worker_process(settings_data)
    Path(settings.storage_dir).mkdir(parents=True, exist_ok=True)
    asyncio.run(serve_jobs(settings, slot, stop))
