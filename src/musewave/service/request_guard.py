"""The API's edge: what a request must be before any route sees it.

One pure-ASGI middleware, outside the routes and inside the request-ID and metrics layers (so a
refusal is logged and counted like any answer). It refuses, as a problem document:

- a ``Host`` that is not in ``MUSEWAVE_ALLOWED_HOSTS`` (400): a web page on another site that
  re-points its DNS name at this machine (DNS rebinding) reaches a loopback server otherwise.
  The open probes (``/health/live``, ``/health/ready``, ``/metrics``) answer any name;
- a state-changing request (POST, PUT, PATCH, DELETE) sent by a web page of another origin
  without an API key (403), and a form body on one (415): browsers send those cross-site
  without asking (CSRF), while a JSON body or an ``Authorization`` header needs CORS consent,
  which only ``MUSEWAVE_CORS_ORIGINS`` gives;
- a WebSocket opened by a page of another origin (403), key or not: any page can offer the
  ``bearer, <key>`` subprotocols, so they prove nothing before the key is checked (cross-site
  WebSocket hijacking);
- state-changing requests over the ``MUSEWAVE_RATE_INGRESS`` ceiling (429), ``/health`` and
  ``/metrics`` aside.

How large and how slow a request may be is the connection's business:
:mod:`musewave.service.http_protocol`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from musewave.config import Settings
from musewave.service.problems import Problem, instance_of, problem_response

# A refusal: an ASGI app that answers the request with a problem.
Answer = Callable[[Scope, Receive, Send], Awaitable[None]]
# Seconds to wait (Retry-After) when the ingress ceiling is reached, else None.
Ceiling = Callable[[], Awaitable[int | None]]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What an HTML form (or a no-CORS fetch) can send cross-site; the API never takes them.
FORM_MEDIA_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
CLOSE_POLICY_VIOLATION = 1008  # refusing a WebSocket before accepting it: HTTP 403
UNCOUNTED_PREFIXES = ("/health", "/metrics")  # probes must answer under any flood
# Open to all, and reached by address (the kubelet's probes, Prometheus scraping each pod):
# any Host name. What they show is public anyway.
PROBE_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})


class RequestGuard:
    """See the module's description. ``ceiling`` counts each state-changing request."""

    def __init__(self, app: ASGIApp, settings: Settings, ceiling: Ceiling | None = None) -> None:
        self.app = app
        self.any_host = "*" in settings.allowed_hosts
        self.hosts = frozenset(host.lower().strip("[]") for host in settings.allowed_hosts)
        self.any_origin = "*" in settings.cors_origins
        self.origins = frozenset(settings.cors_origins)
        self.ceiling = ceiling

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(scope, headers)
        if refusal is None and kind == "http" and scope["method"] in UNSAFE_METHODS:
            refusal = await self._over_ceiling(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION})
        else:
            await refusal(scope, receive, send)

    def _refusal(self, scope: Scope, headers: Headers) -> Answer | None:
        probe = scope["path"] in PROBE_PATHS
        if not probe and not self._host_allowed(headers.get("host", "")):
            return _problem(400, "This server does not answer to that Host name.")
        origin = headers.get("origin")
        foreign = origin is not None and not self._origin_allowed(origin, headers)
        if scope["type"] == "websocket" and foreign:
            return _problem(403, "A web page of another site may not open this.")
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            if foreign and "authorization" not in headers:
                return _problem(403, "A web page of another site needs an API key for this.")
            media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
            if media_type in FORM_MEDIA_TYPES:
                return _problem(415, "Send the body as application/json.")
        return None

    def _host_allowed(self, host: str) -> bool:
        return self.any_host or _host_name(host).lower() in self.hosts

    def _origin_allowed(self, origin: str, headers: Headers) -> bool:
        if self.any_origin or origin in self.origins:
            return True
        # The page this server itself serves (the studio) is the same origin.
        host = headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")

    async def _over_ceiling(self, scope: Scope) -> Answer | None:
        if self.ceiling is None or scope["path"].startswith(UNCOUNTED_PREFIXES):
            return None
        retry_after_s = await self.ceiling()
        if retry_after_s is None:
            return None
        return _problem(
            429,
            "The server is taking in all the changes it can; try again shortly.",
            headers={"Retry-After": str(retry_after_s)},
        )


def _host_name(host: str) -> str:
    """A ``Host`` header without its port: ``[::1]:8000`` is ``::1``."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0]


def _problem(status: int, detail: str, *, headers: dict[str, str] | None = None) -> Answer:
    problem = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail)
    answer_headers = dict(headers or {})

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        located = problem.model_copy(update={"instance": instance_of(scope)})
        await problem_response(located, answer_headers)(scope, receive, send)

    return answer
