"""Submitting work: ``POST /v1/generations`` (and the legacy ``POST /generate``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Response, status
from fastapi.concurrency import run_in_threadpool
from opentelemetry.trace import SpanKind

from musewave.jobs.events import JobEvent
from musewave.observability import metrics
from musewave.observability.tracing import current_trace_context, span
from musewave.resilience import REQUEST_RETRY
from musewave.service.deps import ServicesDep
from musewave.service.request_context import RequestIdDep
from musewave.service.schemas import GenerationBody, SubmitResponse, job_links

router = APIRouter(tags=["generations"])


@router.post(
    "/v1/generations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SubmitResponse,
    responses={200: {"description": "An identical finished job (result cache hit)"}},
)
@router.post("/generate", status_code=status.HTTP_202_ACCEPTED, include_in_schema=False)
async def submit_generation(
    body: GenerationBody,
    services: ServicesDep,
    response: Response,
    request_id: RequestIdDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> SubmitResponse:
    """Queue a track. 202 with the job's links; 200 when an identical seeded request already
    finished (its assets are returned at once) — a running identical job is attached to."""
    if not services.accepting:
        raise HTTPException(status_code=503, detail="server is shutting down")
    with span(
        "job.enqueue", kind=SpanKind.PRODUCER, attributes={"request_id": request_id}
    ) as enqueue:
        job, created = await run_in_threadpool(
            REQUEST_RETRY.call,  # a database/Redis blip should not fail the request
            "enqueue job",
            services.queue.enqueue,
            body.to_request(),
            priority=body.priority,
            idempotency_key=idempotency_key,
            request_id=request_id,  # the middleware's: the client's X-Request-ID or a new one
            trace_context=current_trace_context(),  # the job's attempts link to this span
        )
        enqueue.set_attributes({"job.id": job.id, "job.created": created})
    if created:
        metrics.job_enqueued(body.priority)
        services.bus.publish(JobEvent(type="progress", job_id=job.id, stage="queued"))
        if services.pool is not None:
            services.pool.notify()
    if job.state == "completed":
        response.status_code = status.HTTP_200_OK
    return SubmitResponse(job_id=job.id, status=job.state, created=created, links=job_links(job.id))
