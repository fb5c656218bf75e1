"""EventBus: every subscriber gets its job's events in order; a reader that is behind gets
intermediate percent updates coalesced, never losing a stage change or a final event."""

from __future__ import annotations

import asyncio

from musewave.jobs import JobEvent
from musewave.service.bus import EventBus


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
