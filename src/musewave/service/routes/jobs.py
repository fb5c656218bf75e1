"""Reading, listing and cancelling jobs, and downloading their assets."""

from __future__ import annotations

import contextlib
import os
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

from musewave.access import Caller
from musewave.jobs import JOB_VIEWS, JobNotFound, JobsService, JobState
from musewave.service.auth import CallerDep
from musewave.service.deps import JobsDep
from musewave.service.problems import problem_responses
from musewave.service.schemas import AssetView, JobPage, JobView

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=problem_responses(401))


# Views of completed jobs never change (until cleaned), so status polls are served from the
# cache; the short TTL bounds staleness after a `musewave queue clean` from another process.
JOB_VIEW_TTL_S = 60.0


def _job_view_json(
    jobs: JobsService, job_id: str, caller: Caller, *, on_loop: bool = False
) -> bytes:
    # Cached as "<owner>\n<view>": the owner check needs no database read either.
    cached = jobs.cache.get(JOB_VIEWS, job_id)
    if cached is not None:
        owner, _, body = cached.partition(b"\n")
        if caller.is_admin or owner.decode() == caller.owner:
            return body
        raise JobNotFound(job_id)
    job = jobs.get(job_id, caller, on_loop=on_loop)
    body = JobView.of(job).model_dump_json().encode()
    if job.state == JobState.COMPLETED:
        entry = job.owner.encode() + b"\n" + body
        jobs.cache.set(JOB_VIEWS, job_id, entry, ttl_s=JOB_VIEW_TTL_S)
    return body


@router.get("/{job_id}", response_model=JobView, responses=problem_responses(404))
async def get_job(job_id: str, jobs: JobsDep, caller: CallerDep) -> Response:
    # The hottest route: where the read is in-process, a thread-pool hop (two GIL hand-offs
    # under load) costs more than the read itself.
    body = None
    if jobs.reads_fit_event_loop:
        with contextlib.suppress(SQLAlchemyError):  # locked for a moment: a thread retries
            body = _job_view_json(jobs, job_id, caller, on_loop=True)
    if body is None:
        body = await run_in_threadpool(_job_view_json, jobs, job_id, caller)
    return Response(body, media_type="application/json")


@router.get("", response_model=JobPage)
async def list_jobs(
    jobs: JobsDep,
    caller: CallerDep,
    state: JobState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Only jobs whose prompt contains this (any letter case), or whose id "
            "starts with it",
        ),
    ] = None,
) -> JobPage:
    """The caller's jobs (an admin's: everyone's), newest first, a page at a time."""
    page, next_cursor = await run_in_threadpool(
        partial(jobs.list_jobs, caller, state=state, limit=limit, cursor=cursor, search=q or None)
    )
    return JobPage(jobs=[JobView.of(j) for j in page], next_cursor=next_cursor)


@router.post(
    "/{job_id}/cancel",
    response_model=JobView,
    status_code=202,
    responses=problem_responses(404, 409),
)
async def cancel_job(job_id: str, jobs: JobsDep, caller: CallerDep) -> JobView:
    """Queued jobs are cancelled at once; active ones stop at the engine's next checkpoint."""
    return JobView.of(await run_in_threadpool(jobs.cancel, job_id, caller))


@router.get("/{job_id}/assets", response_model=list[AssetView], responses=problem_responses(404))
async def list_assets(job_id: str, jobs: JobsDep, caller: CallerDep) -> list[AssetView]:
    job = await run_in_threadpool(jobs.get, job_id, caller)
    return [AssetView.of(job_id, a) for a in job.assets]


ASSET_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The file (HEAD: its headers only)", "content": {"*/*": {}}},
    206: {"description": "The byte range asked for with `Range`", "content": {"*/*": {}}},
    304: {"description": "`If-None-Match` names the file's current ETag"},
    **problem_responses(400, 404, 416),
}


# HEAD is registered after GET: a 405 (OPTIONS, POST…) takes its Allow header from the first
# route that matches the path, and should name GET (HEAD goes with GET, RFC 9110 §9.3.2).
@router.head("/{job_id}/assets/{name:path}", include_in_schema=False)
@router.get("/{job_id}/assets/{name:path}", response_class=FileResponse, responses=ASSET_RESPONSES)
async def download_asset(
    job_id: str, name: str, jobs: JobsDep, caller: CallerDep, request: Request
) -> Response:
    """Serves only files registered to the job, looked up by exact name (never used as a
    path), with Range support so players can seek. The ETag is the file's SHA-256, so a client
    that has it gets 304 for ``If-None-Match``."""
    job = await run_in_threadpool(jobs.get, job_id, caller)
    asset = next((a for a in job.assets if a.name == name), None)
    if asset is None:
        raise HTTPException(status_code=404, detail="the job has no file of that name")
    path = await run_in_threadpool(jobs.storage.local_path, asset.path)
    try:
        stat = await run_in_threadpool(os.stat, path) if path is not None else None
    except FileNotFoundError:  # removed by a clean since it was looked up
        stat = None
    if path is None or stat is None:
        raise HTTPException(status_code=404, detail="the file is missing from storage")
    # A job's files never change once published: clients may keep them, revalidating by ETag.
    headers = {"ETag": f'"{asset.sha256}"', "Cache-Control": "private, max-age=86400"}
    if _matches(request.headers.get("if-none-match"), asset.sha256):
        return Response(status_code=304, headers=headers)
    _check_range(request.headers.get("range"), stat.st_size)
    return FileResponse(
        path,
        media_type=asset.media_type,
        filename=Path(asset.name).name,
        headers=headers,
        stat_result=stat,
    )


def _check_range(http_range: str | None, size: int) -> None:
    """Answer a ``Range`` the file cannot serve with a problem (FileResponse would answer in
    plain text): 400 when malformed, 416 when outside the file."""
    if http_range is None:
        return
    try:
        FileResponse._parse_range_header(http_range, size)  # Starlette's own parser
    except MalformedRangeHeader as error:
        raise HTTPException(status_code=400, detail=error.content) from None
    except RangeNotSatisfiable:
        raise HTTPException(
            status_code=416,
            detail=f"the file has {size} bytes",
            headers={"Content-Range": f"bytes */{size}"},
        ) from None


def _matches(if_none_match: str | None, sha256: str) -> bool:
    """Whether an ``If-None-Match`` header names this ETag (weak comparison, RFC 9110)."""
    if if_none_match is None:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or f'"{sha256}"' in tags
