"""The resources one API process holds, opened and closed by the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from musewave.access.rate_limits import GenerationLimits
from musewave.cache import Cache
from musewave.config import Settings
from musewave.jobs import JobEvent, JobQueue, JobRecord, JobsService, PublishEvent, final_event
from musewave.planning import Suggestions
from musewave.resilience import Breakers
from musewave.service.auth import Authenticator
from musewave.service.bus import EventBus
from musewave.service.schemas import JobView, asset_url
from musewave.webhooks import WebhookDispatcher


def with_asset_links(event: JobEvent) -> JobEvent:
    """A ``completed`` event as clients get it: each file in its result with its URL."""
    if event.result is None or not event.result.get("assets"):
        return event
    assets: list[dict[str, Any]] = [
        {**asset, "url": asset_url(event.job_id, asset["name"])} for asset in event.result["assets"]
    ]
    return event.model_copy(update={"result": {**event.result, "assets": assets}})


def final_event_with_links(job: JobRecord) -> JobEvent | None:
    """How a finished job ended, as its streams send it (None while it may still run)."""
    event = final_event(job)
    return None if event is None else with_asset_links(event)


@dataclass
class Services:
    settings: Settings
    queue: JobQueue
    jobs: JobsService
    bus: EventBus
    cache: Cache
    auth: Authenticator
    limits: GenerationLimits
    # This process's view of the circuit breakers (shared with workers only through Redis).
    breakers: Breakers
    accepting: bool = True
    # Records this process's webhook deliveries and makes them (None: not started).
    webhooks: WebhookDispatcher | None = None
    # Answers /v1/suggest/* and /v1/prompt/enhance (None: rules only, without a model).
    suggestions: Suggestions | None = None


def event_publisher(
    bus: EventBus, loop: asyncio.AbstractEventLoop, webhooks: WebhookDispatcher | None = None
) -> PublishEvent:
    """A publish function for the job core, callable from any thread: the event goes to the
    bus on ``loop``, completed ones with their asset links. Every job event of this process,
    on either backend, passes here: ``webhooks`` gets each one too (it only queues it)."""

    def on_loop(event: JobEvent) -> None:
        bus.publish(with_asset_links(event))
        if webhooks is not None:
            webhooks.offer(event)

    def publish(event: JobEvent) -> None:
        with contextlib.suppress(RuntimeError):  # loop already closed during shutdown
            loop.call_soon_threadsafe(on_loop, event)

    return publish


def webhook_data(job: JobRecord) -> dict[str, Any]:
    """A webhook payload's ``data``: the job view, as ``GET /v1/jobs/{id}`` answers it."""
    return JobView.of(job).model_dump(mode="json")
