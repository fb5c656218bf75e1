"""Submitting work: ``POST /v1/generations`` (and the legacy ``POST /generate``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from opentelemetry.trace import SpanKind

from musewave.jobs import JobState
from musewave.observability.tracing import current_trace_context, span
from musewave.service.auth import CallerDep
from musewave.service.deps import ServicesDep
from musewave.service.problems import problem_responses
from musewave.service.request_context import RequestIdDep
from musewave.service.schemas import GenerationBody, SubmitResponse

router = APIRouter(tags=["generations"], responses=problem_responses(401))


@router.post(
    "/v1/generations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SubmitResponse,
    responses={
        200: {
            "model": SubmitResponse,
            "description": "An identical seeded request already finished (a cache hit)",
        },
        # 400: a body that is not text at all (not UTF-8); 422 is for anything else wrong.
        **problem_responses(400, 409, 429, 503),
    },
)
@router.post("/generate", status_code=status.HTTP_202_ACCEPTED, include_in_schema=False)
async def submit_generation(
    body: GenerationBody,
    services: ServicesDep,
    request: Request,
    response: Response,
    request_id: RequestIdDep,
    caller: CallerDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> SubmitResponse:
    """Queue a track: 202 with the job. An identical seeded request that already finished
    answers 200 with its assets at once; a running one is attached to (202, ``created``
    false); so is a repeated ``Idempotency-Key`` (per API key; 409 when the key was used for
    another request)."""
    if not services.accepting:
        raise HTTPException(
            status_code=503, detail="server is shutting down", headers={"Retry-After": "5"}
        )
    client_ip = request.client.host if request.client else "unknown"
    verdict = await run_in_threadpool(services.limits.hit, caller, client_ip)
    if not verdict.allowed:
        raise HTTPException(
            status_code=429,
            detail=f"at most {verdict.limit} generations in this window; retry later",
            headers=verdict.headers(),
        )
    response.headers.update(verdict.headers())
    with span(
        "job.enqueue", kind=SpanKind.PRODUCER, attributes={"request_id": request_id}
    ) as enqueue:
        job, created = await run_in_threadpool(
            services.jobs.submit,
            body.to_request(),
            caller,
            priority=body.priority,
            idempotency_key=idempotency_key,
            request_id=request_id,  # the middleware's: the client's X-Request-ID or a new one
            trace_context=current_trace_context(),  # the job's attempts link to this span
        )
        enqueue.set_attributes({"job.id": job.id, "job.created": created})
    if job.state is JobState.COMPLETED:
        response.status_code = status.HTTP_200_OK
    return SubmitResponse.of_submission(job, created)
