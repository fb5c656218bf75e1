"""Counts every HTTP request and its latency by method, route template and status."""

from __future__ import annotations

from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from musewave.observability import metrics
from musewave.service.route_template import route_template

__all__ = ["HttpMetricsMiddleware", "route_template"]


class HttpMetricsMiddleware:
    """Pure ASGI middleware (streams pass through untouched).

    Latency is the time until the response headers are sent: the server's work, not a
    client's download or how long a progress stream stays open. A request that raised before
    any response is counted with status 500 (what the error handler outside answers); one
    abandoned by its client (cancelled) is not counted. The route label is
    :func:`~musewave.service.route_template.route_template`, the same as the access log's.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        responded = False

        async def send_counted(message: Message) -> None:
            nonlocal responded
            if not responded and message["type"] == "http.response.start":
                responded = True
                elapsed_s = perf_counter() - started
                metrics.http_request(
                    scope["method"], route_template(scope), message["status"], elapsed_s
                )
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        except Exception:
            if not responded:
                elapsed_s = perf_counter() - started
                metrics.http_request(scope["method"], route_template(scope), 500, elapsed_s)
            raise
