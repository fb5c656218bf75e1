"""Job events become webhook deliveries, and deliveries are made: off every job's path.

Each API process runs one :class:`WebhookDispatcher`. Its publisher hook (:meth:`offer`) only
queues the event; three tasks then do the work:

- **recording**: a job event the job's filter wants becomes a delivery row (its body is
  written once, so every attempt sends the same bytes). Every API process hears every event
  (BullMQ's QueueEvents reaches all replicas), so rows are keyed by the event (``start``,
  ``progress:<500 ms slot>``, ``completed:<finished_at>``) and recorded once whoever is first.
- **sending**: due rows are claimed under a lease and POSTed, at most
  ``MUSEWAVE_WEBHOOK_CONCURRENCY`` at a time but one per job, in order (see
  :meth:`WebhookStore.claim`); the outcome schedules the next attempt.
- **sweeping**: every :data:`SWEEP_S`, start and final events no process recorded (the job
  ended while no API process listened, or was settled from the operator CLI) are recorded.

Event types: ``job.started`` (filter ``start``: the job's first attempt began),
``job.progress`` (``progress``: at most one per 500 ms per job), and for the filter
``completed`` the final one of ``job.completed``, ``job.failed`` (failed or dead),
``job.cancelled``, or ``job.<state>`` for another final state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from musewave.config import Settings
from musewave.jobs import JobEvent, JobRecord, JobState
from musewave.jobs.events import Stage
from musewave.observability.logging import get_logger
from musewave.webhooks import client
from musewave.webhooks.destinations import AllowList, Resolver, system_resolver
from musewave.webhooks.signing import webhook_headers
from musewave.webhooks.store import (
    FINAL_KEY_PREFIX,
    PENDING,
    START_KEY,
    DeliveryRecord,
    WebhookStore,
)

log = get_logger(__name__)

EVENT_FILTERS = ("start", "progress", "completed")
PROGRESS_INTERVAL_S = 0.5
POLL_S = 1.0  # how often rows recorded by other processes (or due retries) are looked for
SWEEP_S = 5.0
SWEEP_HORIZON = timedelta(days=1)
LEASE_MARGIN_S = 5.0  # a lease outlives the attempt's timeout by this much
_KNOWN_JOBS = 10_000  # webhook settings remembered per process (they never change)
INBOX_LIMIT = 10_000  # job events waiting to be recorded

ReadJob = Callable[[str], JobRecord | None]
JobViewOf = Callable[[JobRecord], dict[str, Any]]


def final_event_type(state: JobState) -> str:
    if state is JobState.COMPLETED:
        return "job.completed"
    if state in (JobState.FAILED, JobState.DEAD):
        return "job.failed"
    return f"job.{state.value}"


@dataclass(frozen=True)
class _Target:
    url: str
    events: frozenset[str]
    owner: str


class WebhookDispatcher:
    """Records and makes one process's webhook deliveries. ``read_job`` reads a job from the
    system of record (blocking); ``view_of`` turns it into the ``data`` of a payload."""

    def __init__(
        self,
        store: WebhookStore,
        read_job: ReadJob,
        view_of: JobViewOf,
        settings: Settings,
        *,
        resolve: Resolver = system_resolver,
    ) -> None:
        self.store = store
        self._read_job = read_job
        self._view_of = view_of
        self._allow = AllowList.parse(settings.webhook_allow_hosts)
        self._delays_s = settings.webhook_retry_delays_s
        self._timeout_s = settings.webhook_timeout_s
        self._slots = settings.webhook_concurrency
        self._resolve = resolve
        self._inbox: asyncio.Queue[JobEvent] = asyncio.Queue(maxsize=INBOX_LIMIT)
        self._targets: OrderedDict[str, _Target | None] = OrderedDict()
        self._last_progress: dict[str, datetime] = {}
        self._started: set[str] = set()
        self._wake = asyncio.Event()
        self._in_flight: dict[asyncio.Task[None], str] = {}  # attempt -> its lease token
        self._tasks: list[asyncio.Task[None]] = []

    # --- the publisher's side ---------------------------------------------------------------

    def offer(self, event: JobEvent) -> None:
        """Queue a job event for recording (call on the event loop; never blocks)."""
        if event.type in ("progress", "completed", "failed", "cancelled"):
            try:
                self._inbox.put_nowait(event)
            except asyncio.QueueFull:  # the database is far behind: bounded, not queued
                # The sweep records a dropped start or end later; a dropped progress is lost.
                log.warning("webhook event dropped: recording is behind", job_id=event.job_id)

    def wake(self) -> None:
        """Look for due deliveries now (a re-send was asked for)."""
        self._wake.set()

    # --- life -------------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._record_forever()),
            asyncio.create_task(self._send_forever()),
            asyncio.create_task(self._sweep_forever()),
        ]

    async def stop(self) -> None:
        """End the tasks; attempts in flight are cut short and their rows given back (made
        again, with the same ``webhook-id``, by whoever claims them next)."""
        for task in [*self._tasks, *self._in_flight]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._in_flight, return_exceptions=True)
        for token in set(self._in_flight.values()):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.store.release, token)
        self._in_flight.clear()
        self._tasks.clear()

    # --- recording --------------------------------------------------------------------------

    async def _record_forever(self) -> None:
        while True:
            event = await self._inbox.get()
            try:
                await self._record(event)
            except Exception as error:  # the sweep records start and final events later
                log.warning("webhook event not recorded", job_id=event.job_id, error=str(error))

    async def _target(self, job_id: str) -> _Target | None:
        if job_id in self._targets:
            self._targets.move_to_end(job_id)
            return self._targets[job_id]
        job = await asyncio.to_thread(self._read_job, job_id)
        if job is None:
            return None
        target = None
        if job.webhook:
            target = _Target(job.webhook, frozenset(job.webhook_events_filter or ()), job.owner)
        self._targets[job_id] = target
        if len(self._targets) > _KNOWN_JOBS:
            self._targets.popitem(last=False)
        return target

    async def _record(self, event: JobEvent) -> None:
        target = await self._target(event.job_id)
        if target is None:
            return
        if event.is_terminal:
            self._last_progress.pop(event.job_id, None)
            self._started.discard(event.job_id)
            if "completed" in target.events:
                await self._record_final(event.job_id, target)
            return
        if event.stage == Stage.QUEUED:
            return
        if len(self._started) > _KNOWN_JOBS or len(self._last_progress) > _KNOWN_JOBS:
            # Jobs that ended unheard (settled from the CLI) leave entries: forget them all;
            # at worst a job's next progress is sent a little early, its start not twice
            # (deliveries are keyed).
            self._started.clear()
            self._last_progress.clear()
        if "start" in target.events and event.job_id not in self._started:
            self._started.add(event.job_id)
            await self._record_start(event.job_id, target)
        if "progress" in target.events:
            last = self._last_progress.get(event.job_id)
            if last is None or event.ts - last >= timedelta(seconds=PROGRESS_INTERVAL_S):
                self._last_progress[event.job_id] = event.ts
                await self._record_progress(event, target)

    async def _record_progress(self, event: JobEvent, target: _Target) -> None:
        job = await asyncio.to_thread(self._read_job, event.job_id)
        if job is None or job.state.is_finished:
            return
        data = {**self._view_of(job), "stage": event.stage, "progress": event.progress}
        # Every process that hears the event names it alike: one delivery per 500 ms slot.
        key = f"progress:{int(event.ts.timestamp() / PROGRESS_INTERVAL_S)}"
        await self._insert(job, target, "job.progress", key, event.ts, data)

    async def _record_start(self, job_id: str, target: _Target) -> None:
        job = await asyncio.to_thread(self._read_job, job_id)
        if job is not None:
            when = job.started_at or datetime.now(UTC)
            await self._insert(job, target, "job.started", START_KEY, when, self._view_of(job))

    async def _record_final(self, job_id: str, target: _Target) -> None:
        job = await asyncio.to_thread(self._read_job, job_id)
        if job is None or not job.state.is_finished:
            return  # re-driven meanwhile: its next end is recorded then
        when = job.finished_at or job.updated_at
        key = FINAL_KEY_PREFIX + when.isoformat()
        event_type = final_event_type(job.state)
        await self._insert(job, target, event_type, key, when, self._view_of(job))

    async def _insert(
        self,
        job: JobRecord,
        target: _Target,
        event_type: str,
        key: str,
        when: datetime,
        data: dict[str, Any],
    ) -> None:
        payload = json.dumps(
            {"type": event_type, "timestamp": when.isoformat(), "data": data},
            separators=(",", ":"),
            default=str,
        )
        recorded = await asyncio.to_thread(
            self.store.record,
            job_id=job.id,
            owner=target.owner,
            url=target.url,
            event_type=event_type,
            dedup_key=key,
            payload=payload,
        )
        if recorded:
            self._wake.set()

    # --- sweeping ---------------------------------------------------------------------------

    async def _sweep_forever(self) -> None:
        while True:
            try:
                since = datetime.now(UTC) - SWEEP_HORIZON
                for owed in await asyncio.to_thread(self.store.owed_events, since):
                    target = await self._target(owed.job_id)
                    if target is None:
                        continue
                    if owed.start:
                        await self._record_start(owed.job_id, target)
                    if owed.final:
                        await self._record_final(owed.job_id, target)
            except Exception as error:  # the database briefly unavailable: next round
                log.warning("webhook sweep skipped", error=str(error))
            await asyncio.sleep(SWEEP_S)

    # --- sending ----------------------------------------------------------------------------

    async def _send_forever(self) -> None:
        lease_s = self._timeout_s + LEASE_MARGIN_S
        while True:
            self._wake.clear()
            free = self._slots - len(self._in_flight)
            claimed = 0
            if free > 0:
                try:
                    token, batch = await asyncio.to_thread(self.store.claim, free, lease_s)
                except Exception as error:  # the database briefly unavailable
                    log.warning("webhook claim skipped", error=str(error))
                    batch = []
                claimed = len(batch)
                for delivery in batch:
                    task = asyncio.create_task(self._attempt(delivery))
                    self._in_flight[task] = token
                    task.add_done_callback(self._attempt_done)
            if claimed and claimed == free:
                continue  # there may be more due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_S)

    def _attempt_done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self._wake.set()  # a slot is free

    async def _attempt(self, delivery: DeliveryRecord) -> None:
        try:
            secret = await asyncio.to_thread(self.store.secret, delivery.owner)
            now = datetime.now(UTC)
            body = delivery.payload.encode()
            headers = webhook_headers(secret.signing(now), delivery.id, int(now.timestamp()), body)
            outcome = await client.post(
                delivery.url,
                body,
                headers,
                allow=self._allow,
                timeout_s=self._timeout_s,
                resolve=self._resolve,
            )
            state = await asyncio.to_thread(
                self.store.finish, delivery, outcome, self._delays_s, attempted_at=now
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # its lease expires and the attempt is made again
            log.warning("webhook attempt not recorded", delivery_id=delivery.id, error=str(error))
            return
        if outcome.refused:
            log.warning("webhook destination refused", job_id=delivery.job_id, error=outcome.error)
        if state == PENDING:  # a retry: wake up for it
            retry = delivery.attempts - delivery.schedule_base
            delay_s = self._delays_s[min(retry, len(self._delays_s) - 1)]
            asyncio.get_running_loop().call_later(delay_s, self._wake.set)
