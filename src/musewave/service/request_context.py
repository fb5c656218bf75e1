"""Request IDs and the access log: one ASGI middleware around every HTTP request.

Each request gets an ID: the client's ``X-Request-ID`` when it is acceptable (printable ASCII,
1-128 characters), a new UUID4 hex otherwise. The ID is bound to structlog's context variables
for the request (so every line logged while serving it carries ``request_id``), stored in
``request.state.request_id`` (routes hand it to the job), and echoed in the response's
``X-Request-ID`` header, errors included. One access log line per request follows the response.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Annotated, Any, TypeGuard

import structlog
from fastapi import Depends, Request
from opentelemetry import trace
from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from musewave.observability.logging import get_logger

REQUEST_ID_HEADER = "X-Request-ID"
MAX_REQUEST_ID_CHARS = 128
_ACCEPTABLE_ID = re.compile(rf"[\x20-\x7e]{{1,{MAX_REQUEST_ID_CHARS}}}")

access_log = get_logger("musewave.access")
log = get_logger("musewave.service")


def acceptable_request_id(value: str | None) -> TypeGuard[str]:
    """True for a client-sent ID we may log and echo: printable ASCII, 1-128 characters."""
    return value is not None and _ACCEPTABLE_ID.fullmatch(value) is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


def _incoming_request_id(scope: Scope) -> str | None:
    wanted = REQUEST_ID_HEADER.lower().encode("latin-1")
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            text: str = value.decode("latin-1")
            return text
    return None


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


def _route_template(scope: Scope) -> str | None:
    """The matched route's path template (``/v1/jobs/{job_id}``), never the raw path; None
    when nothing matched (404)."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else None


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware), so streaming responses pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _incoming_request_id(scope)
        request_id = incoming if acceptable_request_id(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(raw=list(message.get("headers", [])))
                headers[REQUEST_ID_HEADER] = request_id
                message = {**message, "headers": headers.raw}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as error:
                log.exception("unhandled error", method=scope["method"], path=scope["path"])
                trace.get_current_span().record_exception(error)
                if status is not None:
                    raise  # the response already started: nothing left to answer with
                # Answer here rather than in Starlette's outer error middleware, which would
                # send its 500 without our header.
                status = 500
                response = PlainTextResponse(
                    "Internal Server Error",
                    status_code=500,
                    headers={REQUEST_ID_HEADER: request_id},
                )
                await response(scope, receive, send)
            finally:
                access_log.info(
                    "request",
                    method=scope["method"],
                    route=_route_template(scope),
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    client=_client(scope),
                )


def request_id_of(request: Request) -> str:
    """The ID :class:`RequestContextMiddleware` gave this request (a new one if it did not run,
    e.g. an app built without it)."""
    state: Any = request.state
    request_id = getattr(state, "request_id", None)
    return request_id if isinstance(request_id, str) else new_request_id()


RequestIdDep = Annotated[str, Depends(request_id_of)]
