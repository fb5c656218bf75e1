"""Health probes: liveness, readiness (503 until usable), per-component detail, system facts."""

from __future__ import annotations

import platform
import shutil
from typing import Any

import psutil
from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from musewave import __version__
from musewave.db import current_revision, head_revision, is_ahead
from musewave.engine import ENGINE_VERSION
from musewave.service.auth import AdminDep
from musewave.service.deps import ServicesDep
from musewave.service.problems import problem_responses
from musewave.service.services import Services

router = APIRouter(prefix="/health", tags=["health"])


def _check_database(services: Services) -> dict[str, Any]:
    try:
        services.queue.store.ping()
        revision = current_revision(services.settings.resolved_database_url)
    except Exception as error:  # a probe reports, it never raises
        return {"ok": False, "error": str(error)}
    head = head_revision()
    # A newer release's migration (a rolling upgrade) leaves this one ready: migrations add.
    ahead = revision != head and is_ahead(services.settings.resolved_database_url)
    return {"ok": revision == head or ahead, "revision": revision, "head": head, "ahead": ahead}


def _check_storage(services: Services) -> dict[str, Any]:
    minimum = services.settings.min_free_disk_mb
    check = services.jobs.storage.check(minimum)
    if check.error is not None:
        return {"ok": False, "error": check.error}
    return {"ok": check.ok, "free_mb": check.free_mb, "min_free_mb": minimum}


def _check_cache(services: Services) -> dict[str, Any]:
    """Informational: a cache outage degrades to misses, so it never makes the service unready."""
    stats = services.cache.stats()
    return {
        "ok": True,
        "backend": type(services.cache).__name__,
        "hits": stats.hits,
        "misses": stats.misses,
        "errors": stats.errors,
    }


def _check_queue(services: Services) -> dict[str, Any]:
    detail = services.queue.health()
    return {**detail, "ok": services.accepting and detail["ok"], "accepting": services.accepting}


async def _components(services: Services) -> dict[str, dict[str, Any]]:
    return {
        "database": await run_in_threadpool(_check_database, services),
        "storage": await run_in_threadpool(_check_storage, services),
        "queue": await run_in_threadpool(_check_queue, services),
        "cache": _check_cache(services),
        "breakers": await run_in_threadpool(services.breakers.snapshot),
    }


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "Not ready: `failing` names the parts"}})
async def ready(services: ServicesDep) -> JSONResponse:
    components = await _components(services)
    ok = all(c["ok"] for c in components.values())
    failing = [name for name, c in components.items() if not c["ok"]]
    body = {"status": "ready" if ok else "not ready", "failing": failing}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get(
    "",
    responses={
        503: {"description": "Degraded: see each component's `ok`"},
        **problem_responses(401, 403),
    },
)
async def detail(services: ServicesDep, caller: AdminDep) -> JSONResponse:
    """Every component's detail (admins: errors may name hosts)."""
    components = await _components(services)
    ok = all(c["ok"] for c in components.values())
    body = {"status": "ok" if ok else "degraded", "components": components}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/system", responses=problem_responses(401, 403))
async def system(caller: AdminDep) -> dict[str, Any]:
    """Versions and process facts (admins only: they help an attacker too)."""
    memory = psutil.virtual_memory()
    process = psutil.Process()
    return {
        "versions": {
            "musewave": __version__,
            "engine": ENGINE_VERSION,
            "python": platform.python_version(),
        },
        "cpu": {"count": psutil.cpu_count(), "percent": psutil.cpu_percent(interval=None)},
        "memory": {"total_mb": memory.total // 2**20, "available_mb": memory.available // 2**20},
        "process": {"rss_mb": process.memory_info().rss // 2**20, "pid": process.pid},
        "disk": {"free_mb": shutil.disk_usage(".").free // 2**20},
    }
