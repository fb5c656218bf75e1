"""EventBus: every subscriber gets its job's events in order; a reader that is behind gets
intermediate percent updates coalesced (in a crowd: the job's latest state), never losing a
final event."""

from __future__ import annotations

import asyncio
import contextlib

from musewave.jobs import JobEvent
from musewave.service.bus import CROWD, WAKE_BATCH, EventBus, Subscription


def _progress(stage: str, percent: float) -> JobEvent:
    return JobEvent(type="progress", job_id="j", stage=stage, progress=percent)


def _drain(bus: EventBus, events: list[JobEvent]) -> list[tuple[str, str, float]]:
    """Publish ``events`` while one subscriber reads none, then read what it was given."""

    async def run() -> list[tuple[str, str, float]]:
        with bus.subscribe("j") as sub:
            for event in events:
                bus.publish(event)
            received = []
            while True:
                event = await sub.next()
                assert event is not None
                received.append((event.type, event.stage, event.progress))
                if event.is_terminal:
                    return received

    return asyncio.run(run())


def test_a_reader_behind_gets_every_stage_change_and_the_final_event() -> None:
    events = [
        _progress("rendering", 5),
        _progress("rendering", 10),
        _progress("rendering", 20),
        _progress("mixing", 35),
        _progress("mixing", 40),
        _progress("mixing", 45),
        JobEvent(type="completed", job_id="j", stage="completed", progress=100),
    ]

    assert _drain(EventBus(), events) == [
        ("progress", "rendering", 5),  # a stage change is never replaced
        ("progress", "mixing", 35),  # it replaced rendering 20, which had replaced 10
        ("completed", "completed", 100),  # it replaced mixing 45
    ]


def test_a_reader_that_keeps_up_gets_every_event() -> None:
    async def run() -> list[float]:
        bus = EventBus()
        with bus.subscribe("j") as sub:
            received = []
            for percent in (5, 10, 20):
                bus.publish(_progress("rendering", percent))
                event = await sub.next()
                assert event is not None
                received.append(event.progress)
            return received

    assert asyncio.run(run()) == [5, 10, 20]


def test_in_a_crowd_readers_not_yet_woken_send_only_the_latest_state() -> None:
    async def run() -> list[list[float]]:
        bus = EventBus()
        readers = max(4 * WAKE_BATCH, CROWD + 1)
        with contextlib.ExitStack() as stack:
            subs = [stack.enter_context(bus.subscribe("j")) for _ in range(readers)]

            async def read(sub: Subscription) -> list[float]:
                received = []
                while True:
                    event = await sub.next()
                    assert event is not None
                    received.append(event.progress)
                    if event.is_terminal:
                        return received

            tasks = [asyncio.create_task(read(sub)) for sub in subs]
            await asyncio.sleep(0)  # every reader waits in next()
            bus.publish(_progress("planning", 0))
            for _ in range(2):  # a turn of the loop wakes a batch, the next one runs it
                await asyncio.sleep(0)
            bus.publish(_progress("rendering", 5))
            bus.publish(JobEvent(type="completed", job_id="j", stage="completed", progress=100))
            return await asyncio.gather(*tasks)

    received = asyncio.run(run())

    assert [progress[-1] for progress in received] == [100] * len(received)
    saw_planning = sum(1 for progress in received if progress[0] == 0)
    # The first readers sent planning; the others were still asleep when rendering came.
    assert 0 < saw_planning < len(received)
    assert all(progress in ([0, 100], [100]) for progress in received)


def test_a_waiting_reader_with_a_direct_sender_has_events_written_without_waking() -> None:
    async def run() -> tuple[list[float], JobEvent | None, bool]:
        bus = EventBus()
        written: list[float] = []

        def send_now(event: JobEvent) -> bool:
            written.append(event.progress)
            return True

        with bus.subscribe("j") as sub:
            sub.send_directly(send_now)
            reader = asyncio.create_task(sub.next())
            await asyncio.sleep(0)  # the reader waits in next()
            bus.publish(_progress("rendering", 5))
            await asyncio.sleep(0)  # the bus's turn to wake readers
            bus.publish(_progress("mixing", 35))
            await asyncio.sleep(0)
            assert not reader.done()  # written for it, not handed to it
            final = JobEvent(type="completed", job_id="j", stage="completed", progress=100)
            bus.publish(final)
            event = await reader
            return written, event, sub.was_sent(event) and not sub.was_sent(_progress("x", 0))

    written, event, only_the_final_was_sent = asyncio.run(run())

    assert written == [5, 35, 100]
    # The final event also reaches the reader, already sent, so that it ends the stream.
    assert event is not None and event.type == "completed"
    assert only_the_final_was_sent


def test_what_a_direct_sender_cannot_take_goes_to_the_reader_in_order() -> None:
    async def run() -> tuple[list[float], list[float]]:
        bus = EventBus()
        written: list[float] = []
        accepting = True

        def send_now(event: JobEvent) -> bool:
            if accepting:
                written.append(event.progress)
            return accepting

        with bus.subscribe("j") as sub:
            sub.send_directly(send_now)
            reader = asyncio.create_task(sub.next())
            await asyncio.sleep(0)
            bus.publish(_progress("rendering", 5))
            await asyncio.sleep(0)  # written
            accepting = False  # a paused socket
            bus.publish(_progress("mixing", 35))
            await asyncio.sleep(0)  # refused: the reader is woken with it
            accepting = True
            bus.publish(_progress("mastering", 50))  # queued behind it: the reader's too
            received = [await reader, await sub.next()]
            reader = asyncio.create_task(sub.next())
            await asyncio.sleep(0)  # waiting again, nothing queued
            bus.publish(_progress("mastering", 55))
            await asyncio.sleep(0)
            reader.cancel()
            return written, [event.progress for event in received if event is not None]

    written, received = asyncio.run(run())

    assert received == [35, 50]
    assert written == [5, 55]


def test_a_direct_sender_that_raises_leaves_the_event_to_the_reader_and_the_bus_running() -> None:
    async def run() -> tuple[list[float], list[float]]:
        bus = EventBus()

        def broken(event: JobEvent) -> bool:
            raise AttributeError("the server's WebSocket internals changed")

        received: list[float] = []
        with bus.subscribe("j") as first, bus.subscribe("j") as second:
            first.send_directly(broken)
            readers = [asyncio.create_task(first.next()), asyncio.create_task(second.next())]
            await asyncio.sleep(0)
            bus.publish(_progress("rendering", 5))
            for reader in readers:
                event = await reader
                assert event is not None
                received.append(event.progress)
            later = asyncio.create_task(first.next())
            await asyncio.sleep(0)
            bus.publish(_progress("mixing", 35))  # the next wake batch still runs
            event = await later
            assert event is not None
            return received, [event.progress]

    # A stalled bus would wait forever: bounded, so that it fails instead.
    received, later = asyncio.run(asyncio.wait_for(run(), timeout=30))

    assert received == [5, 5]
    assert later == [35]


def _progress(stage: str, percent: float, attempt: int = 1) -> JobEvent:
    return JobEvent(type="progress", job_id="j", stage=stage, progress=percent, attempt=attempt)


def _snapshot(stage: str, percent: float, attempt: int, state: str = "active") -> JobEvent:
    return JobEvent(
        type="connected",
        job_id="j",
        stage=stage,
        progress=percent,
        attempt=attempt,
        message=state,
    )


async def _received_after_snapshot(
    before: list[JobEvent], snapshot: JobEvent, after: list[JobEvent]
) -> list[tuple[str, str, float, int]]:
    """What a subscriber reads when ``before`` were published ahead of its snapshot and
    ``after`` follow it, each read before the next is published (none coalesce)."""
    bus = EventBus()
    received = []
    with bus.subscribe("j") as sub:
        for event in before:
            bus.publish(event)
        sub.skip_covered_by(snapshot)
        for event in after:
            bus.publish(event)
            while sub.pending:
                got = await sub.next()
                assert got is not None
                received.append((got.type, got.stage, got.progress, got.attempt))
    return received


def test_a_snapshot_drops_the_progress_it_covers_queued_or_late() -> None:
    # Subscribed, then the job read as rendering at 5 %: the planning and composing events
    # published before the read (queued already, or arriving late through Redis) must not
    # follow the snapshot. Composing ends at the very percent rendering starts at (5 %).
    received = asyncio.run(
        _received_after_snapshot(
            [_progress("planning", 1), _progress("composing", 5)],
            _snapshot("rendering", 5, attempt=1),
            [
                _progress("planning", 2),
                _progress("composing", 5),  # the case CI met: same percent, earlier stage
                _progress("rendering", 5),  # the snapshot's own update: the same state
                _progress("rendering", 20),
                JobEvent(type="error", job_id="j", stage="rendering", progress=20, attempt=1),
                _progress("planning", 2, attempt=2),  # a new attempt starts over
                JobEvent(type="completed", job_id="j", stage="completed", progress=100, attempt=2),
            ],
        )
    )
    assert received == [
        ("progress", "rendering", 5, 1),
        ("progress", "rendering", 20, 1),
        ("error", "rendering", 20, 1),
        ("progress", "planning", 2, 2),
        ("completed", "completed", 100, 2),
    ]


def test_a_snapshot_drops_the_progress_of_attempts_it_has_moved_past() -> None:
    # Read while attempt 2 plans: a late event of attempt 1 is stale, whatever its stage.
    during_retry = asyncio.run(
        _received_after_snapshot(
            [],
            _snapshot("planning", 1, attempt=2),
            [_progress("rendering", 20, attempt=1), _progress("composing", 3, attempt=2)],
        )
    )
    assert during_retry == [("progress", "composing", 3, 2)]
    # Read while waiting for a retry after attempt 1 failed (queued, 0 %): attempt 1's late
    # progress is stale; its error and the next attempt's progress are not.
    waiting = asyncio.run(
        _received_after_snapshot(
            [],
            _snapshot("queued", 0, attempt=1, state="queued"),
            [
                _progress("rendering", 20, attempt=1),
                JobEvent(type="error", job_id="j", stage="rendering", progress=20, attempt=1),
                _progress("planning", 1, attempt=2),
            ],
        )
    )
    assert waiting == [("error", "rendering", 20, 1), ("progress", "planning", 1, 2)]


def test_a_snapshot_of_a_job_just_claimed_keeps_its_attempts_progress() -> None:
    # Claimed but not yet planning: active, attempt 1, still at stage "queued" (CI's busy
    # machine read jobs in that moment and their streams went from connected to completed).
    received = asyncio.run(
        _received_after_snapshot(
            [],
            _snapshot("queued", 0, attempt=1, state="active"),
            [_progress("planning", 1), _progress("composing", 3)],
        )
    )
    assert received == [("progress", "planning", 1, 1), ("progress", "composing", 3, 1)]
