"""The API's edge: what a request must be before any route sees it.

One pure-ASGI middleware, outside the routes and inside the request-ID and metrics layers (so a
refusal is logged and counted like any answer). It refuses, as a problem document:

- a ``Host`` that is not in ``MUSEWAVE_ALLOWED_HOSTS`` (400): a web page on another site that
  re-points its DNS name at this machine (DNS rebinding) reaches a loopback server otherwise;
- a state-changing request (POST, PUT, PATCH, DELETE) sent by a web page of another origin
  without an API key (403), and a form body on one (415): browsers send those cross-site
  without asking (CSRF), while a JSON body or an ``Authorization`` header needs CORS consent,
  which only ``MUSEWAVE_CORS_ORIGINS`` gives. A WebSocket opened by a page of another origin
  without a key is refused the same way (cross-site WebSocket hijacking);
- a body over ``MUSEWAVE_MAX_BODY_KB`` (413), by its ``Content-Length`` before it is read, or
  while it streams in (chunked), and a body still incomplete ``MUSEWAVE_CLIENT_TIMEOUT_S``
  after the request began (408). Both answers close the connection, so the rest of a large
  body is never read;
- state-changing ``/v1`` requests over the ``MUSEWAVE_RATE_INGRESS`` ceiling (429).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
_CONNECTION_CLOSE = (b"connection", b"close")


class RequestGuard:
    """See the module's description. ``ceiling`` counts each state-changing ``/v1`` request."""

    def __init__(self, app: ASGIApp, settings: Settings, ceiling: Ceiling | None = None) -> None:
        self.app = app
        self.any_host = "*" in settings.allowed_hosts
        self.hosts = frozenset(host.lower().strip("[]") for host in settings.allowed_hosts)
        self.any_origin = "*" in settings.cors_origins
        self.origins = frozenset(settings.cors_origins)
        self.max_body_bytes = settings.max_body_kb * 1024
        self.body_timeout_s = settings.client_timeout_s
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
        if refusal is not None:
            if kind == "websocket":
                await send({"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION})
                return
            await refusal(scope, receive, send)
            return
        if kind == "websocket" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)  # no body to bound
            return
        await self._bounded(scope, receive, send)

    def _refusal(self, scope: Scope, headers: Headers) -> Answer | None:
        if not self._host_allowed(headers.get("host", "")):
            return _problem(400, "This server does not answer to that Host name.")
        method = scope.get("method", "GET")
        unsafe = scope["type"] == "websocket" or method in UNSAFE_METHODS
        if unsafe and "authorization" not in headers and not self._websocket_key(scope, headers):
            origin = headers.get("origin")
            if origin is not None and not self._origin_allowed(origin, headers):
                return _problem(403, "A web page of another site needs an API key for this.")
        if scope["type"] == "http" and method in UNSAFE_METHODS:
            media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
            if media_type in FORM_MEDIA_TYPES:
                return _problem(415, "Send the body as application/json.")
            length = headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                return _problem(413, self._too_large(), close=True)
        return None

    def _host_allowed(self, host: str) -> bool:
        return self.any_host or _host_name(host).lower() in self.hosts

    def _origin_allowed(self, origin: str, headers: Headers) -> bool:
        if self.any_origin or origin in self.origins:
            return True
        # The page this server itself serves (the studio) is the same origin.
        host = headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")

    @staticmethod
    def _websocket_key(scope: Scope, headers: Headers) -> bool:
        # Browsers send the key as the "bearer, <key>" subprotocols (see service.auth).
        protocols = headers.get("sec-websocket-protocol", "")
        return scope["type"] == "websocket" and protocols.startswith("bearer,")

    async def _over_ceiling(self, scope: Scope) -> Answer | None:
        if self.ceiling is None or not scope["path"].startswith("/v1/"):
            return None
        retry_after_s = await self.ceiling()
        if retry_after_s is None:
            return None
        return _problem(
            429,
            "The server is taking in all the changes it can; try again shortly.",
            headers={"Retry-After": str(retry_after_s)},
        )

    def _too_large(self) -> str:
        return f"The request body exceeds {self.max_body_bytes // 1024} KB."

    async def _bounded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read the body within its size and time limits; past it, ``receive`` is untouched
        (a stream's wait for the client to leave must not time out)."""
        received = 0
        complete = False
        refused = False
        deadline = time.monotonic() + self.body_timeout_s

        async def bounded_receive() -> Message:
            nonlocal received, complete, refused
            if complete:
                return await receive()
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    message = await receive()
            except TimeoutError:
                refused = True
                raise HTTPException(408, "The request body was not received in time.") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_body_bytes:
                    refused = True
                    raise HTTPException(413, self._too_large())
            return message

        async def send_closing(message: Message) -> None:
            if refused and message["type"] == "http.response.start":
                # The rest of the body is never read: the connection cannot carry another.
                message = {**message, "headers": [*message.get("headers", ()), _CONNECTION_CLOSE]}
            await send(message)

        await self.app(scope, bounded_receive, send_closing)


def _host_name(host: str) -> str:
    """A ``Host`` header without its port: ``[::1]:8000`` is ``::1``."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0]


def _problem(
    status: int, detail: str, *, close: bool = False, headers: dict[str, str] | None = None
) -> Answer:
    problem = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail)
    answer_headers = dict(headers or {})
    if close:
        answer_headers["Connection"] = "close"

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        located = problem.model_copy(update={"instance": instance_of(scope)})
        await problem_response(located, answer_headers)(scope, receive, send)

    return answer
