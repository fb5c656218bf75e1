"""In-process fan-out of job events to WebSocket and SSE subscribers.

One bus per API process; the event source (the local worker pool, or BullMQ's QueueEvents)
feeds it, and every socket subscribes here instead of opening its own connection upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterator

from musewave.jobs.events import JobEvent
from musewave.jobs.states import JobState
from musewave.observability.logging import get_logger

log = get_logger(__name__)

SUBSCRIBER_BUFFER = 256  # events; a client this far behind is dropped, not allowed to grow RAM
_RECENT_TEXTS = 16  # events whose JSON EventBus.json_of keeps
WAKE_BATCH = 64  # readers woken per turn of the event loop (~1-3 ms of sends)
CROWD = WAKE_BATCH  # readers of one job beyond which one that is behind may skip a stage


class Subscription:
    """Events for one job, in order, for one reader. ``None`` means the stream is over: the
    bus closed (server shutting down), or the reader fell :data:`SUBSCRIBER_BUFFER` events
    behind (``overflowed``).

    A deque and one future rather than an ``asyncio.Queue``: a publish offers each event to
    every subscriber of the job (1,000 sockets: 1,000 offers), so this is the fan-out's
    per-socket cost. Cancelling :meth:`next` (e.g. ``asyncio.wait_for``) loses no event.

    A reader that is behind gets intermediate percent updates coalesced: a queued, still
    unsent update within a stage is replaced by the next event, which carries a later
    percent (``progress`` is the job's, not the stage's). Stage changes are replaced too,
    but only in a crowd (more than :data:`CROWD` readers of the job): there a reader that is
    behind gets the job's latest state. Final events are always delivered; a reader that
    keeps up gets every event.

    Why a crowd may skip a stage: even written straight to the socket (below), an event
    costs the API ~12 us of CPU per socket, the write itself, so with 1,000 sockets it takes
    ~12 ms to reach the last one. Stages that begin a few ms apart (planning, composing,
    rendering) would queue behind each other, and the last socket would see the third one
    late; sending only the latest costs one write per socket for the burst (see
    :class:`EventBus` for how readers that have not been woken yet learn of the later event).

    A reader that can write an event without running (:meth:`send_directly`: a WebSocket's
    prepared frame) is not woken while it waits in :meth:`next`: :meth:`wake` writes what is
    queued instead, in order, and :meth:`next` does not return it, except a final event
    (then :meth:`was_sent` is true), so the reader still ends its stream. Through the reader
    an event would cost ~45 us per socket: the task's wake-up and the ASGI send path.
    """

    __slots__ = (
        "_events",
        "_sent",
        "_snapshot",
        "_tail_replaceable",
        "_waiter",
        "job_id",
        "overflowed",
        "send_now",
        "wake_queued",
    )

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.overflowed = False
        self._events: deque[JobEvent | None] = deque()
        self._tail_replaceable = False  # whether the last queued event may be replaced
        self.wake_queued = False  # whether the bus holds it in line to be woken
        self._waiter: asyncio.Future[None] | None = None
        self.send_now: Callable[[JobEvent], bool] | None = None  # see send_directly
        self._sent: JobEvent | None = None  # the final event send_now wrote
        self._snapshot: JobEvent | None = None  # see skip_covered_by

    def send_directly(self, send_now: Callable[[JobEvent], bool]) -> None:
        """From now on, events queued while the reader waits in :meth:`next` are handed to
        ``send_now`` when it would be woken (on the event loop); ``send_now`` writes the
        event, or returns False when it cannot take it now (a full write buffer, a closing
        socket): the reader is then woken to send it the usual way. Call once the reader has
        sent what it must send first."""
        self.send_now = send_now

    def skip_covered_by(self, snapshot: JobEvent) -> None:
        """Drop the ``progress`` events that ``snapshot`` (the job as read after subscribing,
        already sent by the reader) has moved past, queued or still to come: published
        before the job was read but reaching this subscription after it (between the two, or
        late through Redis), they would take the stream back. ``error`` and final events
        always pass."""
        self._snapshot = snapshot
        kept = [event for event in self._events if not self._covered(event)]
        if len(kept) < len(self._events):
            self._events = deque(kept)
            self._tail_replaceable = False

    def _covered(self, event: JobEvent | None) -> bool:
        """Whether ``event`` is progress the snapshot has moved past: of an earlier attempt,
        of the snapshot's attempt before its position, or of any attempt up to the
        snapshot's when the job waits in the queue (the next run is a new attempt)."""
        snapshot = self._snapshot
        if snapshot is None or event is None or event.type != "progress":
            return False
        if event.attempt != snapshot.attempt:
            return event.attempt < snapshot.attempt
        # A job back in the queue (its ``connected`` event carries the state) runs next as a
        # new attempt; a job just claimed is active at stage ``queued`` and its attempt goes on.
        waiting = snapshot.message == JobState.QUEUED.value
        return waiting or event.position < snapshot.position

    @property
    def pending(self) -> int:
        """Events queued for the reader (:meth:`next` returns the first without waiting)."""
        return len(self._events)

    def was_sent(self, event: JobEvent | None) -> bool:
        """Whether ``event`` (from :meth:`next`) was already written by ``send_now``: a final
        event, returned only so that the reader ends its stream."""
        return event is not None and event is self._sent

    def offer(self, event: JobEvent | None) -> None:
        """Queue ``event`` and wake the reader (call on the event loop thread); never blocks."""
        self.queue(event)
        self.wake()

    def queue(self, event: JobEvent | None, *, replaceable: bool = False) -> None:
        """Queue ``event`` without waking the reader (:meth:`wake` does that). ``replaceable``:
        a later event may take its place while it waits here."""
        if self._covered(event):
            return
        if event is not None and self._tail_replaceable and self._events:
            self._events[-1] = event  # supersedes a state the reader was never sent
            self._tail_replaceable = replaceable
            return
        if len(self._events) >= SUBSCRIBER_BUFFER:
            self.overflowed = True
            self._events.popleft()
            event, replaceable = None, False  # the reader gets what it had, then the end
        self._events.append(event)
        self._tail_replaceable = replaceable

    def wake(self) -> None:
        """Let a reader waiting in :meth:`next` take what is queued (or send it for the
        reader, see :meth:`send_directly`)."""
        waiter = self._waiter
        if waiter is None or waiter.done() or not self._events:
            return
        # The reader waits, so it sent everything it took: what is queued comes next.
        if self.send_now is not None:
            self._send_queued(self.send_now)
            if not self._events:
                return
        waiter.set_result(None)

    def _send_queued(self, send_now: Callable[[JobEvent], bool]) -> None:
        events = self._events
        while events:
            event = events[0]
            if event is None or not _sent_now(send_now, event):
                return  # the reader closes the stream, or sends the rest itself
            if event.is_terminal:
                self._sent = event  # left queued: the reader ends the stream
                return
            events.popleft()
        self._tail_replaceable = False

    async def next(self) -> JobEvent | None:
        """The next event, waiting for one if none is queued."""
        while not self._events:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        return self._events.popleft()


class EventBus:
    """Subscriptions per job, and the fan-out of each published event to them.

    A publish queues the event for every subscriber at once (cheap), but wakes the readers
    :data:`WAKE_BATCH` at a time, one batch per turn of the event loop. Woken all at once,
    1,000 readers would each send the event before the loop took the job's next one from the
    event source; woken in batches, the next event is published between two batches, and
    the readers not yet woken send only it (see :class:`Subscription`).
    """

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}
        self._to_wake: deque[Subscription] = deque()
        self._waking: asyncio.Handle | None = None
        # The stage of each subscribed job's last event: tells updates from stage changes.
        self._stages: dict[str, str] = {}
        self._empty = asyncio.Event()  # set while nobody is subscribed
        self._empty.set()
        self.closed = False
        # id(event) → (event, its JSON) for the last few events (kept: no id is reused).
        self._texts: dict[int, tuple[JobEvent, str]] = {}

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
                self._stages.pop(job_id, None)
            if not self._subscribers:
                self._empty.set()

    def publish(self, event: JobEvent) -> None:
        """Deliver ``event`` to every subscriber of its job. Call on the event loop thread."""
        subscribers = self._subscribers.get(event.job_id)
        if not subscribers:
            return
        replaceable = event.type == "progress" and (
            len(subscribers) > CROWD or self._stages.get(event.job_id) == event.stage
        )
        self._stages[event.job_id] = event.stage
        for subscription in subscribers:
            subscription.queue(event, replaceable=replaceable)
            if not subscription.wake_queued:  # in line once, however many events come
                subscription.wake_queued = True
                self._to_wake.append(subscription)
        if event.is_terminal:
            # Nothing can replace a final event, and a reader closes its socket after it:
            # every reader sends it first, before any of them spends time closing.
            self._wake(len(self._to_wake))
        elif self._waking is None:
            self._waking = asyncio.get_running_loop().call_soon(self._wake_batch)

    def _wake(self, count: int) -> None:
        for _ in range(min(count, len(self._to_wake))):
            subscription = self._to_wake.popleft()
            subscription.wake_queued = False
            subscription.wake()

    def _wake_batch(self) -> None:
        try:
            self._wake(WAKE_BATCH)
        finally:  # whatever a wake raised, later events are still woken
            self._waking = None
            if self._to_wake:
                self._waking = asyncio.get_running_loop().call_soon(self._wake_batch)

    def json_of(self, event: JobEvent) -> str:
        """``event.model_dump_json()``, made once for all the sockets that send ``event``.

        A publish hands the same (frozen) event to every subscriber of its job, and each one
        sends it as JSON: serializing it once saves ~2 us per socket. Call on the event loop
        thread.
        """
        cached = self._texts.get(id(event))
        if cached is not None and cached[0] is event:
            return cached[1]
        text = event.model_dump_json()
        if len(self._texts) >= _RECENT_TEXTS:
            del self._texts[next(iter(self._texts))]  # the oldest
        self._texts[id(event)] = (event, text)
        return text

    def job_ids(self) -> list[str]:
        """The jobs someone is subscribed to now."""
        return list(self._subscribers)

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


def _sent_now(send_now: Callable[[JobEvent], bool], event: JobEvent) -> bool:
    """``send_now(event)``; False (the reader sends it itself) when the direct path fails,
    e.g. a server whose WebSocket internals changed: a slower stream, never a stalled one."""
    global _direct_send_failed
    try:
        return send_now(event)
    except Exception:
        if not _direct_send_failed:  # once: it would fail for every socket and event
            _direct_send_failed = True
            log.warning("direct WebSocket send failed; readers send instead", exc_info=True)
        return False


_direct_send_failed = False
