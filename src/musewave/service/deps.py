"""FastAPI dependencies: routes get services injected, never reach for globals."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from musewave.jobs import JobsService
from musewave.service.services import Services


# async: FastAPI runs a plain `def` dependency in its thread pool, a hop per request.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_jobs(request: Request) -> JobsService:
    jobs: JobsService = request.app.state.services.jobs
    return jobs


ServicesDep = Annotated[Services, Depends(get_services)]
JobsDep = Annotated[JobsService, Depends(get_jobs)]
