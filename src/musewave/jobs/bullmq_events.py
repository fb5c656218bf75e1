"""Production mode, API side: one BullMQ ``QueueEvents`` reader per API process, and the
reconciler that keeps the database and BullMQ in step.

Workers publish each job event with ``job.updateProgress``; the reader turns those back into
:class:`JobEvent` and hands them to the process's publisher (the API fans them out to every
WebSocket and SSE client of this process; no socket ever opens its own Redis connection). Final
events have one source: BullMQ's own ``completed``, ``failed`` and ``removed`` events make
every API process send the job's final event from the database, so streams end however the job
ended (another replica cancelled it while queued, a worker died). A ``failed`` event for a job
the database still thinks is running means BullMQ gave up on it without a worker reporting (it
stalled too often): the job is settled as dead first.

QueueEvents' read loop ends for good on a Redis error, so it is supervised: restarted after a
pause, from the last event id it delivered, so no event in the stream is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any

from bullmq import QueueEvents
from pydantic import ValidationError
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from musewave.config import Settings
from musewave.jobs.bullmq_backend import BullMQBackend
from musewave.jobs.bullmq_options import queue_events_options
from musewave.jobs.events import JobEvent, PublishEvent, final_event
from musewave.observability import metrics
from musewave.redis_connections import blocking_client

log = logging.getLogger(__name__)

RESTART_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 5.0)
# Progress carries every event a worker publishes; the others say BullMQ is done with a job.
RELAYED_KINDS = ("progress", "completed", "failed", "removed")


class QueueEventsRelay:
    """Reads the queue's event stream and hands its events to ``publish``, in stream order."""

    def __init__(self, backend: BullMQBackend, settings: Settings, publish: PublishEvent):
        self.backend = backend
        self.settings = settings
        self.publish = publish
        self.last_event_id = "$"  # new events only: late subscribers read state from the DB
        self.restarts = 0
        self._inbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self.connected = asyncio.Event()

    async def run_forever(self) -> None:
        delivering = asyncio.create_task(self._deliver_forever())
        try:
            failures = 0
            while True:
                ended_with_error = await self._read_until_error()
                self.restarts += 1
                failures = failures + 1 if ended_with_error else 0
                delay = RESTART_DELAYS_S[min(failures, len(RESTART_DELAYS_S) - 1)]
                await asyncio.sleep(delay)
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering

    async def _read_until_error(self) -> bool:
        settings = self.settings
        assert settings.redis_url is not None
        # A client that gives up on a lost Redis within about a second: bullmq's default one
        # retries for minutes, which would keep this reader (and every progress stream) silent
        # long after Redis is back; the restart loop here retries instead.
        client = blocking_client(
            settings.redis_url,
            decode_responses=True,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.1), 2),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        options = {**queue_events_options(settings, self.last_event_id), "connection": client}
        events = QueueEvents(settings.queue_name, options)
        errors: list[BaseException] = []
        for kind in RELAYED_KINDS:
            events.on(kind, functools.partial(self._receive, kind))
        events.on("error", errors.append)
        try:
            await events.redisConnection.conn.ping()
            self.connected.set()
            await events.run()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a Redis outage: restart after a pause
            errors.append(error)
        finally:
            self.connected.clear()
            with contextlib.suppress(Exception):
                await events.close()
        if errors:
            log.warning("QueueEvents reader stopped (%s); restarting", errors[-1])
        return bool(errors)

    def _receive(self, kind: str, args: dict[str, Any], event_id: str) -> None:
        """A QueueEvents listener (called on this loop): queue the entry for delivery."""
        self.last_event_id = event_id
        self._inbox.put_nowait((kind, args))

    async def _deliver_forever(self) -> None:
        while True:
            kind, args = await self._inbox.get()
            try:
                event = await self._to_event(kind, args)
            except Exception:  # one bad entry must not stop the relay
                log.exception("could not relay a %s event: %s", kind, args)
                continue
            if event is not None:
                self.publish(event)

    async def _to_event(self, kind: str, args: dict[str, Any]) -> JobEvent | None:
        if kind == "progress":
            data = args.get("data")
            if not isinstance(data, dict):
                return None  # progress from a non-MuseWave producer (e.g. a plain number)
            try:
                event = JobEvent.model_validate(data)
            except ValidationError:
                return None
            return None if event.is_terminal else event  # final events: see below
        job_id = str(args.get("jobId", ""))
        if kind == "failed":
            # News for the database only when no worker settled the job (BullMQ gave up on it).
            reason = str(args.get("failedReason") or "BullMQ failed the job")
            settled = await asyncio.to_thread(self.backend.settle_if_failed, job_id, reason)
            if settled is not None:
                metrics.job_abandoned(settled.state)  # counted once: one process settles it
        # BullMQ is done with the job (completed, failed, or removed by a cancel): every API
        # process tells the job's streams how it ended, from the database (with the result).
        job = await asyncio.to_thread(self.backend.store.get, job_id)
        return final_event(job) if job is not None else None


async def reconcile_forever(
    backend: BullMQBackend, settings: Settings, publish: PublishEvent
) -> None:
    """Every stalled-check interval: hand BullMQ the jobs it lost, settle the ones it gave up."""
    while True:
        await asyncio.sleep(settings.stalled_check_s)
        try:
            actions = await asyncio.to_thread(backend.reconcile)
        except Exception as error:  # Redis or the database briefly unavailable: next round
            log.warning("reconcile skipped: %s", error)
            continue
        for job_id in actions["settled"]:
            job = await asyncio.to_thread(backend.store.get, job_id)
            if job is not None:
                metrics.job_abandoned(job.state)
            final = final_event(job) if job is not None else None
            if final is not None:
                publish(final)
        if actions["resubmitted"]:
            log.info("reconcile: %d jobs handed to BullMQ again", len(actions["resubmitted"]))
