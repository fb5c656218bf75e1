"""The resources one API process holds, opened and closed by the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from musewave.cache import Cache
from musewave.config import Settings
from musewave.jobs import JobRecord, LocalQueue
from musewave.jobs.events import JobEvent
from musewave.jobs.local_pool import LocalWorkerPool
from musewave.resilience import Breakers
from musewave.service.bus import EventBus
from musewave.service.schemas import AssetView


def event_result(job: JobRecord) -> dict[str, Any]:
    """What a ``completed`` event carries: the seed used and links to every asset."""
    return {
        "seed": job.seed,
        "assets": [AssetView.of(job.id, a).model_dump(mode="json") for a in job.assets],
    }


def final_event(job: JobRecord) -> JobEvent | None:
    """The event that describes a finished job to a late subscriber (None while it runs)."""
    common = {"job_id": job.id, "attempt": job.attempts, "progress": job.progress}
    if job.state == "completed":
        return JobEvent(type="completed", stage="completed", result=event_result(job), **common)
    if job.state in ("failed", "dead"):
        return JobEvent(type="failed", stage=job.state.value, error=job.error, **common)
    if job.state == "cancelled":
        return JobEvent(type="cancelled", stage="cancelled", **common)
    return None


@dataclass
class Services:
    settings: Settings
    queue: LocalQueue
    engine: Engine
    bus: EventBus
    loop: asyncio.AbstractEventLoop
    cache: Cache
    pool: LocalWorkerPool | None = None
    # This process's view of the circuit breakers (shared with workers only through Redis).
    breakers: Breakers = field(default_factory=Breakers.create)
    relay: Any = None  # production mode: the QueueEvents relay (see service.queue_events)
    accepting: bool = True
    background: list[asyncio.Task[None]] = field(default_factory=list)

    def on_worker_event(self, event: JobEvent) -> None:
        """Called on the pool's pump thread: enrich final events, hand over to the loop."""
        if event.type == "completed":
            job = self.queue.get(event.job_id)
            if job is not None:
                event = event.model_copy(update={"result": event_result(job)})
        with contextlib.suppress(RuntimeError):  # loop already closed during shutdown
            self.loop.call_soon_threadsafe(self.bus.publish, event)
