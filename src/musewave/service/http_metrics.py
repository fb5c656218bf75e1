"""Counts every HTTP request and its latency by method, route template and status."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from musewave.observability import metrics


def route_template(scope: Scope) -> str | None:
    """The template of the route the router matched (``/v1/jobs/{job_id}``), None if none.

    Starlette puts the matched route in the scope while routing; a ``{name:path}`` parameter
    is shown as ``{name}``.
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else None


class HttpMetricsMiddleware:
    """Pure ASGI middleware (streams pass through untouched).

    Latency is the time until the response headers are sent: the server's work, not a
    client's download or how long a progress stream stays open. A request that raised before
    any response is counted with status 500 (what the error handler outside answers); one
    abandoned by its client (cancelled) is not counted.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        responded = False

        def record(status: int) -> None:
            elapsed_ms = (time.perf_counter() - started) * 1000
            metrics.http_request(scope["method"], route_template(scope), status, elapsed_ms)

        async def send_counted(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.start" and not responded:
                responded = True
                record(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        except Exception:
            if not responded:
                record(500)
            raise
