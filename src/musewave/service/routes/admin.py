"""Operator endpoints: queue statistics, the dead-letter list, re-drive and cleaning. Each
needs an admin API key (or anonymous use of a loopback server)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from musewave.jobs import BucketsOutOfRange, JobState, QueueStats, ThroughputBucket
from musewave.service.auth import AdminDep
from musewave.service.deps import JobsDep
from musewave.service.problems import problem_responses
from musewave.service.schemas import JobPage, JobView

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=problem_responses(401, 403))

MAX_AGE_S = 10 * 365 * 86_400  # beyond this "older than" means nothing (and overflows dates)


class CleanResult(BaseModel):
    removed_jobs: list[str]


@router.get("/queue", response_model=QueueStats)
async def queue_stats(jobs: JobsDep, caller: AdminDep) -> QueueStats:
    return await run_in_threadpool(jobs.stats)


@router.get("/throughput", response_model=list[ThroughputBucket])
async def throughput(
    jobs: JobsDep,
    caller: AdminDep,
    window_s: Annotated[float, Query(ge=60, le=30 * 86_400)] = 3600,
    bucket_s: Annotated[float, Query(ge=10, le=86_400)] = 60,
) -> list[ThroughputBucket]:
    """Jobs that finished over the last ``window_s`` seconds, per ``bucket_s`` bucket, oldest
    first: completed, failed (dead-lettered included) and cancelled (aborted included). At
    most 500 buckets (422 beyond)."""
    try:
        return await run_in_threadpool(jobs.throughput, window_s, bucket_s)
    except BucketsOutOfRange as error:
        raise RequestValidationError(
            [{"loc": ("query", "bucket_s"), "msg": str(error), "type": "value_error"}]
        ) from None


@router.get("/dead", response_model=JobPage)
async def dead_letters(
    jobs: JobsDep,
    caller: AdminDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> JobPage:
    page, next_cursor = await run_in_threadpool(
        partial(jobs.list_jobs, caller, state=JobState.DEAD, limit=limit, cursor=cursor)
    )
    return JobPage(jobs=[JobView.of(j) for j in page], next_cursor=next_cursor)


@router.post(
    "/jobs/{job_id}/redrive",
    response_model=JobView,
    status_code=202,
    responses=problem_responses(404, 409, 503),
)
async def redrive(job_id: str, jobs: JobsDep, caller: AdminDep) -> JobView:
    """Send a dead (or failed) job back to the queue with a fresh set of attempts."""
    return JobView.of(await run_in_threadpool(jobs.redrive, job_id, caller))


@router.post("/clean", response_model=CleanResult)
async def clean(
    jobs: JobsDep,
    caller: AdminDep,
    older_than_s: Annotated[float, Query(ge=0, le=MAX_AGE_S)] = 7 * 24 * 3600,
) -> CleanResult:
    """Delete finished jobs older than ``older_than_s`` and their files."""
    return CleanResult(removed_jobs=await run_in_threadpool(jobs.clean, older_than_s, caller))
