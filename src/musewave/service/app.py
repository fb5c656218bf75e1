"""The FastAPI application factory and its lifespan, which opens and closes every resource."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware

from musewave import __version__
from musewave.access import KeyStore
from musewave.access.rate_limits import GenerationLimits
from musewave.cache import make_cache
from musewave.config import LOOPBACK_NAMES, Settings
from musewave.db import upgrade
from musewave.jobs import JobsService, open_queue
from musewave.jobs.runner import job_breakers
from musewave.observability.logging import get_logger
from musewave.observability.tracing import instrument_app
from musewave.planning import Suggestions
from musewave.service.auth import Authenticator, is_loopback
from musewave.service.bus import EventBus
from musewave.service.docs import install_docs
from musewave.service.http_metrics import HttpMetricsMiddleware
from musewave.service.problems import install_problem_handlers
from musewave.service.request_context import RequestContextMiddleware
from musewave.service.request_guard import RequestGuard
from musewave.service.routes import (
    admin,
    events,
    generations,
    health,
    jobs,
    metrics,
    suggest,
    webhooks,
)
from musewave.service.security_headers import SecurityHeaders
from musewave.service.services import (
    Services,
    event_publisher,
    final_event_with_links,
    webhook_data,
)
from musewave.storage import open_storage
from musewave.webhooks import WebhookDispatcher, WebhookStore

log = get_logger(__name__)

STREAM_DRAIN_TIMEOUT_S = 2.0
# Streams whose job ended without this process hearing of it (cancelled from the operator CLI,
# settled by another replica) end this long after it ended, at the latest. The grace lets the
# job's own final event, and the progress before it, arrive first.
STREAM_SYNC_S = 1.0
STREAM_SYNC_GRACE_S = 2.0
# How often jobs past their deadline are looked for: a deadline is kept to within this (and,
# for a running job, the engine's next checkpoint).
DEADLINE_CHECK_S = 1.0
# What a browser page of an allowed origin may send, and read, beyond the CORS basics.
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"]
CORS_RESPONSE_HEADERS = [
    "X-Request-ID",
    "Location",
    "ETag",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
]


async def _every(period_s: float, what: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` every ``period_s`` until cancelled. A round that fails (the database or
    Redis briefly unavailable) is logged once per outage, not once a round; the next tries."""
    failing = False
    while True:
        await asyncio.sleep(period_s)
        try:
            await work()
        except Exception as error:
            if not failing:
                log.warning(f"{what} skipped until the queue answers", error=str(error))
            failing = True
            continue
        failing = False


async def _end_finished_streams(services: Services) -> None:
    """One query per round, whatever the number of sockets: subscribed jobs that finished get
    their final event (a stream that already had it has ended and unsubscribed)."""
    job_ids = services.bus.job_ids()
    if not job_ids:
        return
    before = datetime.now(UTC) - timedelta(seconds=STREAM_SYNC_GRACE_S)
    finished = await run_in_threadpool(
        partial(services.queue.store.finished_among, job_ids, before=before)
    )
    for job in finished:
        event = final_event_with_links(job)
        if event is not None:
            services.bus.publish(event)


async def _enforce_deadlines(services: Services) -> None:
    """Abort or cancel the jobs whose deadline passed (every API process does; the store's
    guarded transitions make the second one a no-op)."""
    for job in await run_in_threadpool(services.jobs.enforce_deadlines):
        log.info("job stopped at its deadline", job_id=job.id, state=job.state.value)


async def end_streams(app: FastAPI, timeout_s: float = STREAM_DRAIN_TIMEOUT_S) -> None:
    """The first step of a graceful shutdown, to run before the server drops its connections
    (which would close WebSockets with 1012): stop accepting jobs and end every progress
    stream, so WebSockets close with 1001 Going Away and SSE streams end."""
    services: Services | None = getattr(app.state, "services", None)
    if services is None:
        return
    services.accepting = False
    await services.bus.drain(timeout_s)


async def _ingress_ceiling(app: FastAPI) -> int | None:
    services: Services | None = getattr(app.state, "services", None)
    if services is None:  # not started yet
        return None
    if services.limits.remote:
        return await run_in_threadpool(services.limits.ingress)
    return services.limits.ingress()


def create_app(settings: Settings | None = None, *, start_workers: bool = True) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(upgrade, settings.resolved_database_url)
        settings.storage_dir.mkdir(parents=True, exist_ok=True)
        bus = EventBus()
        cache = make_cache(settings.cache_url)
        # The API's own copy, for /health (workers guard their jobs with theirs).
        breakers = await run_in_threadpool(job_breakers, settings)
        # Opening and closing the queue block (Redis, the database): off the event loop.
        resources = contextlib.ExitStack()
        try:
            queue = await run_in_threadpool(resources.enter_context, open_queue(settings))
            await run_in_threadpool(queue.check)
            dispatcher = WebhookDispatcher(
                WebhookStore(queue.store.sessions), queue.store.get, webhook_data, settings
            )
            publish = event_publisher(bus, asyncio.get_running_loop(), dispatcher)
            jobs = JobsService(queue, open_storage(settings.storage_dir), cache, publish=publish)
            auth = Authenticator(KeyStore(queue.store.sessions), settings)
            if settings.auth == "off":
                log.warning("MUSEWAVE_AUTH=off: anyone who reaches this server is an admin")
            if not is_loopback(settings.host) and settings.allowed_hosts == LOOPBACK_NAMES:
                log.warning(
                    "only loopback Host names are answered: set MUSEWAVE_ALLOWED_HOSTS to the "
                    "names clients use to reach this server"
                )
            limits = GenerationLimits(
                settings.redis_url or "memory://",
                default_rate=settings.rate_generations,
                anonymous_rate=settings.rate_anonymous,
                ingress_rate=settings.rate_ingress,
                suggestion_rate=settings.rate_suggestions,
            )
            # Suggestions ask the model through this process's llm breaker.
            suggestions = Suggestions.from_settings(settings, breakers, cache)
            resources.callback(suggestions.close)
            services = Services(
                settings,
                queue,
                jobs,
                bus,
                cache,
                auth,
                limits,
                breakers,
                webhooks=dispatcher,
                suggestions=suggestions,
            )
            sync = asyncio.create_task(
                _every(STREAM_SYNC_S, "stream sync", partial(_end_finished_streams, services))
            )
            deadlines = asyncio.create_task(
                _every(DEADLINE_CHECK_S, "deadline check", partial(_enforce_deadlines, services))
            )
            dispatcher.start()
            try:
                await queue.start(publish, run_workers=start_workers)
                app.state.services = services
                yield
            finally:
                services.accepting = False
                bus.close()
                sync.cancel()
                deadlines.cancel()
                await asyncio.gather(sync, deadlines, return_exceptions=True)
                # Background work unwinds before the queue it uses closes.
                await queue.stop()
                await dispatcher.stop()
        finally:
            await run_in_threadpool(resources.close)
            cache.close()
            breakers.close()

    app = FastAPI(
        title="MuseWave",
        version=__version__,
        description="A text prompt becomes a finished, mastered track.",
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, from the package's own files
        redoc_url=None,
    )
    install_problem_handlers(app)
    install_docs(app)
    for module in (generations, jobs, suggest, webhooks, events, admin, health, metrics):
        app.include_router(module.router)
    # add_middleware puts each one outside those added before: the guard is innermost, so
    # its refusals get CORS headers (a browser can read them), security headers, metrics
    # and an access log line like any answer.
    app.add_middleware(RequestGuard, settings=settings, ceiling=partial(_ingress_ceiling, app))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "POST", "DELETE"],
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_RESPONSE_HEADERS,
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HttpMetricsMiddleware)
    app.add_middleware(RequestContextMiddleware)
    instrument_app(app)  # a span per request when tracing is on; outside every middleware
    return app
