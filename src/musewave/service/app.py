"""The FastAPI application factory and its lifespan, which opens and closes every resource."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from musewave import __version__
from musewave.cache import make_cache
from musewave.config import Settings
from musewave.db import upgrade
from musewave.jobs.errors import QueueUnavailable
from musewave.jobs.local_pool import LocalWorkerPool, worker_id_prefix
from musewave.observability.metrics import job_abandoned, mark_process_dead
from musewave.observability.tracing import instrument_app
from musewave.resilience import Breakers
from musewave.service.bus import EventBus
from musewave.service.http_metrics import HttpMetricsMiddleware
from musewave.service.request_context import RequestContextMiddleware
from musewave.service.routes import admin, events, generations, health, jobs, metrics
from musewave.service.runtime import build_queue
from musewave.service.services import Services

STREAM_DRAIN_TIMEOUT_S = 2.0
WORKER_CHECK_S = 1.0


async def _count_abandoned(services: Services, job_ids: list[str]) -> None:
    """Count the outcome of attempts whose worker died (this process settled them)."""
    for job_id in job_ids:
        job = await run_in_threadpool(services.queue.get, job_id)
        if job is not None:
            job_abandoned(job.state)


async def _requeue_stalled_forever(services: Services) -> None:
    """Jobs whose worker stopped renewing its lease go back to the queue."""
    while True:
        await asyncio.sleep(services.settings.stalled_check_s)
        requeued = await run_in_threadpool(services.queue.requeue_stalled)
        await _count_abandoned(services, requeued)
        if requeued and services.pool is not None:
            for _ in requeued:
                services.pool.notify()


async def _replace_dead_workers_forever(services: Services) -> None:
    """A worker that died (crash, OOM kill) is restarted and its jobs re-queued at once,
    instead of waiting for their leases to expire."""
    assert services.pool is not None
    while True:
        await asyncio.sleep(WORKER_CHECK_S)
        for pid in services.pool.replace_dead():
            mark_process_dead(pid)  # its gauges go: no longer a live worker
            released = await run_in_threadpool(services.queue.release_worker, worker_id_prefix(pid))
            await _count_abandoned(services, released)
            for _ in released:
                services.pool.notify()


async def end_streams(app: FastAPI, timeout_s: float = STREAM_DRAIN_TIMEOUT_S) -> None:
    """The first step of a graceful shutdown, to run before the server drops its connections
    (which would close WebSockets with 1012): stop accepting jobs and end every progress
    stream, so WebSockets close with 1001 Going Away and SSE streams end."""
    services: Services | None = getattr(app.state, "services", None)
    if services is None:
        return
    services.accepting = False
    await services.bus.drain(timeout_s)


async def _start_embedded(services: Services, start_workers: bool) -> None:
    """Embedded mode: this process owns the local worker processes."""
    # Anything "active" now was orphaned by a previous run that died: put it back in the
    # queue before workers start.
    recovered = await run_in_threadpool(services.queue.recover_all_active)
    await _count_abandoned(services, recovered)
    if start_workers:
        services.pool = LocalWorkerPool(services.settings, services.on_worker_event)
        services.pool.start()
        services.background.append(asyncio.create_task(_replace_dead_workers_forever(services)))
    services.background.append(asyncio.create_task(_requeue_stalled_forever(services)))


async def _start_production(services: Services) -> None:
    """Production mode: ``musewave worker`` processes run jobs; BullMQ recovers stalled ones.
    This process relays their events and keeps the database and BullMQ in step."""
    from musewave.jobs.bullmq_queue import BullMQQueue
    from musewave.service.queue_events import QueueEventsRelay, reconcile_forever

    assert isinstance(services.queue, BullMQQueue)
    await run_in_threadpool(services.queue.check_redis)
    relay = QueueEventsRelay(services)
    services.relay = relay
    services.background.append(asyncio.create_task(relay.run_forever()))
    services.background.append(asyncio.create_task(reconcile_forever(services)))


async def _queue_unavailable(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=503, headers={"Retry-After": "5"})


def create_app(settings: Settings | None = None, *, start_workers: bool = True) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(upgrade, settings.resolved_database_url)
        settings.storage_dir.mkdir(parents=True, exist_ok=True)
        queue, engine = build_queue(settings)
        services = Services(
            settings,
            queue,
            engine,
            EventBus(),
            asyncio.get_running_loop(),
            make_cache(settings.cache_url),
            breakers=await run_in_threadpool(Breakers.from_settings, settings),
        )
        try:
            if settings.redis_url:
                await _start_production(services)
            else:
                await _start_embedded(services, start_workers)
            app.state.services = services
            yield
        finally:
            services.accepting = False
            services.bus.close()
            for task in services.background:
                task.cancel()
            # Let them unwind before the queue they use closes.
            await asyncio.gather(*services.background, return_exceptions=True)
            if services.pool is not None:
                killed = await run_in_threadpool(services.pool.stop, settings.shutdown_grace_s)
                if killed:
                    await run_in_threadpool(queue.recover_all_active)
            await run_in_threadpool(queue.close)
            engine.dispose()
            services.cache.close()
            services.breakers.close()

    app = FastAPI(
        title="MuseWave",
        version=__version__,
        description="A text prompt becomes a finished, mastered track.",
        lifespan=lifespan,
    )
    app.add_exception_handler(QueueUnavailable, _queue_unavailable)
    for module in (generations, jobs, events, admin, health, metrics):
        app.include_router(module.router)
    app.add_middleware(HttpMetricsMiddleware)
    app.add_middleware(RequestContextMiddleware)
    instrument_app(app)  # a span per request when tracing is on; outside every middleware
    return app
