"""The route template of a request: the one label that metrics and the access log share."""

from __future__ import annotations

from starlette.types import Scope

from musewave.observability.metrics import UNMATCHED_ROUTE

__all__ = ["UNMATCHED_ROUTE", "route_template"]


def route_template(scope: Scope) -> str:
    """The path template of the route the router matched, exactly as the route declares it
    (FastAPI's ``APIRoute.path``, prefix included: ``/v1/jobs/{job_id}``,
    ``/v1/jobs/{job_id}/assets/{name:path}``); ``unmatched`` when no route matched (a 404, or
    a request that failed before routing).

    Never the raw path: one label value per job id would grow without bound. Read it once the
    app has routed the request (the router records the matched route in the scope), e.g. when
    the response starts or after the app returns.
    """
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE
