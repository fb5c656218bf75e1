"""Submitting work: ``POST /v1/generations`` (and the legacy ``POST /generate``)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from opentelemetry.trace import SpanKind
from pydantic.json_schema import SkipJsonSchema

from musewave.access import Caller
from musewave.jobs import JobRecord, JobState
from musewave.observability.tracing import current_trace_context, span
from musewave.service.auth import CallerDep
from musewave.service.deps import ServicesDep
from musewave.service.problems import problem_responses
from musewave.service.request_context import RequestIdDep
from musewave.service.schemas import (
    MAX_DEADLINE_S,
    GenerationBody,
    GenerationView,
    SubmitResponse,
)
from musewave.service.services import Services

router = APIRouter(tags=["generations"], responses=problem_responses(401))

MAX_WAIT_S = 60
# RFC 7240: "wait" alone, or "wait=N" (seconds), among other preferences.
_WAIT = re.compile(r"(?:^|[,;])\s*wait\s*(?:=\s*\"?(\d{1,9})\"?)?\s*(?=[,;]|$)", re.IGNORECASE)
_PREFERENCE_APPLIED = {
    "Preference-Applied": {
        "description": "`wait=N` when the request asked to wait (`Prefer: wait=N`).",
        "schema": {"type": "string"},
    }
}


# Cancel-After: a duration such as "90s", "5m", "1h30m", or plain seconds. The document
# carries the same pattern, so a value it allows is one the server takes.
DURATION_PATTERN = r"^(?:(\d{1,5})h)?(?:(\d{1,7})m)?(?:(\d{1,9}(?:\.\d{1,6})?)s?)?$"
_DURATION = re.compile(DURATION_PATTERN)


def cancel_after_s(header: str | None) -> float | None:
    """The seconds a ``Cancel-After`` header gives: None without one (or an empty one), at
    most a day (a longer one counts as a day); 422 when it is not a duration."""
    match = _DURATION.fullmatch(header or "")
    if match is None:
        raise RequestValidationError(
            [
                {
                    "loc": ("header", "cancel-after"),
                    "msg": "not a duration such as 90s, 5m or 1h30m",
                    "type": "string_pattern_mismatch",
                }
            ]
        )
    if not header:
        return None
    hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return min(hours * 3600 + minutes * 60 + seconds, MAX_DEADLINE_S)


def requested_wait_s(prefer: str | None) -> int | None:
    """The seconds a ``Prefer`` header asks to wait for the job to finish (at most
    :data:`MAX_WAIT_S`; ``wait`` alone is the most), or None. A preference the server does not
    understand is ignored, as RFC 7240 says."""
    match = _WAIT.search(prefer or "")
    if match is None:
        return None
    return MAX_WAIT_S if match.group(1) is None else min(int(match.group(1)), MAX_WAIT_S)


async def _wait_until_finished(
    services: Services, job: JobRecord, caller: Caller, wait_s: float
) -> JobRecord:
    """The job once it has finished, or as it is after ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    with services.bus.subscribe(job.id) as sub:
        # Read after subscribing: an end between the submission and here is not missed.
        job = await run_in_threadpool(services.jobs.get, job.id, caller)
        while not job.state.is_finished:
            try:
                event = await asyncio.wait_for(sub.next(), deadline - time.monotonic())
            except TimeoutError:
                break
            if event is None:  # the server is shutting down
                break
            if event.is_terminal:
                break
        if not job.state.is_finished:
            job = await run_in_threadpool(services.jobs.get, job.id, caller)
    return job


@router.post(
    "/v1/generations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SubmitResponse,
    responses={
        200: {
            "model": SubmitResponse,
            "description": (
                "The job has finished: within the wait a `Prefer: wait=N` header asked for, "
                "or before (an identical seeded request: a cache hit)"
            ),
            "headers": _PREFERENCE_APPLIED,
        },
        202: {"description": "The job is queued or running", "headers": _PREFERENCE_APPLIED},
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
    prefer: Annotated[
        str | None,
        Header(
            max_length=200,
            description=f"`wait=N`: answer once the job has finished, waiting at most N "
            f"seconds (at most {MAX_WAIT_S}); `wait` alone waits {MAX_WAIT_S} s",
        ),
    ] = None,
    cancel_after: Annotated[
        str | SkipJsonSchema[None],  # absent, never null: the pattern is the whole schema
        Header(
            # Checked by cancel_after_s: a pattern here would be lost beside SkipJsonSchema.
            json_schema_extra={"pattern": DURATION_PATTERN},
            description="A deadline as a duration (`90s`, `5m`, `1h30m`; at most a day): past "
            "it the job is cancelled, or ends `aborted` if it never started",
        ),
    ] = None,
) -> SubmitResponse:
    """Queue a track: 202 with the job. An identical seeded request that already finished
    answers 200 with its assets at once; a running one is attached to (202, ``created``
    false); so is a repeated ``Idempotency-Key`` (per API key; 409 when the key was used for
    another request). With ``Prefer: wait=N``, the answer waits up to N seconds for the job
    to finish: 200 with the finished job (its assets linked), else 202 as usual."""
    if not services.accepting:
        raise HTTPException(
            status_code=503, detail="server is shutting down", headers={"Retry-After": "5"}
        )
    deadlines = [d for d in (body.deadline_s, cancel_after_s(cancel_after)) if d is not None]
    client_ip = request.client.host if request.client else "unknown"
    verdict = await run_in_threadpool(services.limits.hit, caller, client_ip, body.n)
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
        submitted = await run_in_threadpool(
            services.jobs.submit_variants,
            body.to_request(),
            caller,
            body.n,
            priority=body.priority,
            idempotency_key=idempotency_key,
            request_id=request_id,  # the middleware's: the client's X-Request-ID or a new one
            trace_context=current_trace_context(),  # the job's attempts link to this span
            deadline_s=min(deadlines, default=None),
            webhook=body.webhook,
            webhook_events_filter=body.webhook_events() if body.webhook else None,
        )
        job, created = submitted[0]
        enqueue.set_attributes({"job.id": job.id, "job.created": created})
    jobs = [variant for variant, _ in submitted]
    wait_s = requested_wait_s(prefer)
    if wait_s is not None:
        response.headers["Preference-Applied"] = f"wait={wait_s}"
        deadline = time.monotonic() + wait_s
        for i, variant in enumerate(jobs):
            if not variant.state.is_finished:
                left_s = max(0.0, deadline - time.monotonic())
                jobs[i] = await _wait_until_finished(services, variant, caller, left_s)
        if all(variant.state.is_finished for variant in jobs):
            response.status_code = status.HTTP_200_OK
    if all(variant.state is JobState.COMPLETED for variant in jobs):  # waited, or cached
        response.status_code = status.HTTP_200_OK
    return SubmitResponse.of_submission(jobs[0], created, [variant.id for variant in jobs])


@router.get(
    "/v1/generations/{generation_id}",
    response_model=GenerationView,
    responses=problem_responses(404),
)
async def get_generation(
    generation_id: str, services: ServicesDep, caller: CallerDep
) -> GenerationView:
    """The jobs one request made: its ``n`` variants in order (one job when ``n`` was 1)."""
    jobs = await run_in_threadpool(services.jobs.generation, generation_id, caller)
    return GenerationView.of(jobs)


@router.post(
    "/v1/generations/{generation_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=GenerationView,
    responses=problem_responses(404),
)
async def cancel_generation(
    generation_id: str, services: ServicesDep, caller: CallerDep
) -> GenerationView:
    """Cancel every unfinished job of the generation (finished ones are left as they are)."""
    jobs = await run_in_threadpool(services.jobs.cancel_generation, generation_id, caller)
    return GenerationView.of(jobs)
