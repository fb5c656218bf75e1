"""Request IDs and the access log: one ASGI middleware around every HTTP request.

Each request gets an ID: the client's ``X-Request-ID`` when it is acceptable (printable ASCII,
1-128 characters), a new UUID4 hex otherwise. The ID is bound to structlog's context variables
for the request (so every line logged while serving it carries ``request_id``), stored in
``request.state.request_id`` (routes hand it to the job), and echoed in the response's
``X-Request-ID`` header, errors included. One access log line per request follows the response.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from typing import Annotated, Any, TypeGuard

import structlog
from fastapi import Depends, Request
from opentelemetry import trace
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from musewave.observability.logging import enabled_for, get_logger
from musewave.service.route_template import route_template

REQUEST_ID_HEADER = "X-Request-ID"
MAX_REQUEST_ID_CHARS = 128
_ACCEPTABLE_ID = re.compile(rf"[\x20-\x7e]{{1,{MAX_REQUEST_ID_CHARS}}}")
_HEADER_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")
ACCESS_LOGGER = "musewave.access"

access_log = get_logger(ACCESS_LOGGER)
log = get_logger("musewave.service")


def acceptable_request_id(value: str | None) -> TypeGuard[str]:
    """True for a client-sent ID we may log and echo: printable ASCII, 1-128 characters."""
    return value is not None and _ACCEPTABLE_ID.fullmatch(value) is not None


def new_request_id() -> str:
    """A new random (version 4) UUID, as 32 hex digits.

    Not ``uuid.uuid4()``: its ``os.urandom`` releases the GIL, and the event loop thread then
    waits to get it back while a thread-pool thread runs Python (~0.3 ms a request under
    load). Request IDs must be unique, not unpredictable: ``random`` (seeded by the OS, and
    again in a forked child) does.
    """
    return uuid.UUID(int=random.getrandbits(128), version=4).hex


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == _HEADER_KEY:
            text: str = value.decode("latin-1")
            return text
    return None


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


def _with_request_id(message: Message, raw_id: bytes) -> Message:
    """``message`` (an ``http.response.start``) with its ``X-Request-ID`` header set to ours."""
    headers = [item for item in message.get("headers", ()) if item[0].lower() != _HEADER_KEY]
    headers.append((_HEADER_KEY, raw_id))
    return {**message, "headers": headers}


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware), so streaming responses pass through untouched.

    The access line's ``route`` is :func:`~musewave.service.route_template.route_template`,
    the same label the HTTP metrics use (``unmatched`` when no route matched).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _incoming_request_id(scope)
        request_id = incoming if acceptable_request_id(incoming) else new_request_id()
        raw_id = request_id.encode("latin-1")
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = _with_request_id(message, raw_id)
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
                # Checked first: a line the level drops would still cost structlog a bound
                # logger and a processor run, on every request.
                if enabled_for(ACCESS_LOGGER, logging.INFO):
                    access_log.info(
                        "request",
                        method=scope["method"],
                        route=route_template(scope),
                        path=scope["path"],
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                        client=_client(scope),
                    )


async def request_id_of(request: Request) -> str:
    """The ID :class:`RequestContextMiddleware` gave this request (a new one if it did not run,
    e.g. an app built without it). ``async`` although it never waits: FastAPI runs a plain
    ``def`` dependency in its thread pool, a thread hop per request for a dictionary read."""
    state: Any = request.state
    request_id = getattr(state, "request_id", None)
    return request_id if isinstance(request_id, str) else new_request_id()


RequestIdDep = Annotated[str, Depends(request_id_of)]
