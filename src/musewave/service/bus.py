"""In-process fan-out of job events to WebSocket and SSE subscribers.

One bus per API process; the event source (the local worker pool, or BullMQ's QueueEvents)
feeds it, and every socket subscribes here instead of opening its own connection upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from musewave.jobs.events import JobEvent

SUBSCRIBER_BUFFER = 256  # events; a client this far behind is dropped, not allowed to grow RAM


class Subscription:
    """Events for one job, in order. ``None`` means the bus closed (server shutting down)."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.queue: asyncio.Queue[JobEvent | None] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self.overflowed = False

    def offer(self, event: JobEvent | None) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    async def next(self) -> JobEvent | None:
        return await self.queue.get()


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}
        self._empty = asyncio.Event()  # set while nobody is subscribed
        self._empty.set()
        self.closed = False

    @contextlib.contextmanager
    def subscribe(self, job_id: str) -> Iterator[Subscription]:
        subscription = Subscription(job_id)
        if self.closed:  # shutting down: the stream ends at once
            subscription.offer(None)
        self._subscribers.setdefault(job_id, set()).add(subscription)
        self._empty.clear()
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(job_id, set())
            subscribers.discard(subscription)
            if not subscribers:
                self._subscribers.pop(job_id, None)
            if not self._subscribers:
                self._empty.set()

    def publish(self, event: JobEvent) -> None:
        """Deliver ``event`` to every subscriber of its job. Call on the event loop thread."""
        for subscription in list(self._subscribers.get(event.job_id, ())):
            subscription.offer(event)

    def subscriber_count(self, job_id: str | None = None) -> int:
        if job_id is not None:
            return len(self._subscribers.get(job_id, ()))
        return sum(len(s) for s in self._subscribers.values())

    def close(self) -> None:
        """Tell every subscriber the stream is over (they close with 1001 Going Away)."""
        self.closed = True
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.offer(None)

    async def drain(self, timeout_s: float) -> bool:
        """Close, then wait up to ``timeout_s`` for every subscriber to leave (True if all did)."""
        self.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._empty.wait(), timeout_s)
        return self._empty.is_set()
