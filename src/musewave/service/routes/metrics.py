"""``GET /metrics``: the Prometheus exposition of this process tree (API and its workers)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from musewave.observability import metrics
from musewave.service.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def prometheus_metrics(services: ServicesDep) -> Response:
    """Every ``musewave_*`` series plus process and GC facts; queue depths are read now."""
    # Off the event loop: merging the worker processes' files and the queue query block.
    body, content_type = await run_in_threadpool(
        metrics.exposition, metrics.QueueCollector(services.jobs.stats)
    )
    return Response(body, media_type=content_type)
