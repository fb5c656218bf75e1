"""uvicorn's HTTP/1.1 protocol (httptools), with limits on what a client may send and how slowly.

uvicorn bounds neither how long a client may take to send a request nor how large its head may
be: 300 clients trickling a header a byte at a time hold 300 connections for as long as they
like, a 100 KB header is read whole, and a body a route never reads is read (and dropped) for as
long as the client sends it. This protocol, for every request whatever its method or route:

- gives its line and headers ``client_timeout_s`` (from the connection, or from the first byte
  after the previous answer), else 408; and at most ``max_head_bytes``, else 431;
- refuses a ``Content-Length`` over ``max_body_bytes`` before reading any of it, and cuts a
  body (chunked, or one a route does not read) at that size: 413;
- gives its body ``client_timeout_s`` from the end of the head, else 408.

A refusal is a problem document when no answer has started, and closes the connection.

Closing is lingering (as nginx does): after the last answer the server sends FIN, then reads
and drops what the client still sends, for up to :data:`LINGER_S` or :data:`LINGER_BYTES`,
before it closes. Closed at once, a socket with unread data in it is reset, and a reset can
destroy the answer before the client reads it: a client uploading 100 MB would see "connection
reset" instead of the 413 that says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from musewave.service.problems import PROBLEM_MEDIA_TYPE, Problem

INVALID_REQUEST = "The request is not valid HTTP/1.1."
LINGER_S = 5.0  # as nginx's lingering_timeout: a busy client has time to read its answer
LINGER_BYTES = 64 * 1024 * 1024


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing (httptools wraps it); the protocol
    answers with the refusal it recorded."""


class _LingeringTransport:
    """The connection's transport, whose ``close`` lingers (see the module's description);
    once it does, writes are dropped (an answer that lost the race to a refusal)."""

    def __init__(self, transport: asyncio.Transport, linger: Callable[[], None]) -> None:
        self.raw = transport
        self._linger = linger
        self.lingering = False

    def close(self) -> None:
        if not self.lingering:
            self.lingering = True
            self._linger()

    def write(self, data: bytes) -> None:
        if not self.lingering:
            self.raw.write(data)

    def is_closing(self) -> bool:
        return self.lingering or self.raw.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class GuardedHttpProtocol(HttpToolsProtocol):
    """Use :func:`guarded_http_protocol` to get one with limits set."""

    max_head_bytes = 16 * 1024
    max_body_bytes = 64 * 1024
    client_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._body_bytes = 0
        self._head_deadline: asyncio.TimerHandle | None = None
        self._body_deadline: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str] | None = None
        self._lingering: _LingeringTransport | None = None
        self._lingered_bytes = 0
        self._shutting_down = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._lingering = _LingeringTransport(transport, self._linger)
        self.transport = self._lingering  # type: ignore[assignment]
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_deadlines()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        # The server is stopping: its connections close at once, without lingering (which
        # would hold up the shutdown, and the workers' stop behind it, for LINGER_S).
        self._shutting_down = True
        super().shutdown()

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the connection over, and closes it its own way.
        self._stop_deadlines()
        if self._lingering is not None:
            self.transport = self._lingering.raw
        super().handle_websocket_upgrade()

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None and self._lingering.lingering:
            self._lingered_bytes += len(data)  # the client is still sending: drop it
            if self._lingered_bytes > LINGER_BYTES:
                self._lingering.raw.abort()
            return
        if self._head_deadline is None and self._between_requests():
            # Bytes after an answer (even a blank line, which begins no request) stop
            # uvicorn's keep-alive timer: from here on they are a request head, timed as one.
            self._await_head()
        super().data_received(data)

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._body_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._cancel_head_deadline()
        length = self._content_length()
        if length is not None and length > self.max_body_bytes:
            self._stop(413, self._body_too_large())
        if (length or 0) > 0 or self._chunked():
            self._body_deadline = self.loop.call_later(self.client_timeout_s, self._body_too_slow)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.max_body_bytes:
            if self._answered():  # the route answered without reading it: just stop
                self.transport.close()
                return
            self._stop(413, self._body_too_large())
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._cancel_body_deadline()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._head_deadline is None and not self.transport.is_closing():
            # A pipelined request may be half-received already: its head is timed from now.
            self._await_head()

    # uvicorn answers a request httptools cannot parse with this (plain text); a refusal
    # stops the parser the same way.
    def send_400_response(self, msg: str) -> None:
        status, detail = self._refusal or (400, INVALID_REQUEST)
        self._refuse(status, detail)

    # Limits
    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _content_length(self) -> int | None:
        for name, value in self.headers:
            if name == b"content-length":
                return int(value)  # the parser has checked it is one number
        return None

    def _chunked(self) -> bool:
        return any(
            name == b"transfer-encoding" and b"chunked" in value.lower()
            for name, value in self.headers
        )

    def _body_too_large(self) -> str:
        return f"The request body exceeds {self.max_body_bytes // 1024} KB."

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_head_bytes:
            limit_kb = self.max_head_bytes // 1024
            self._stop(431, f"The request line and headers exceed {limit_kb} KB.")

    def _stop(self, status: int, detail: str) -> None:
        self._refusal = (status, detail)
        raise _Refused

    def _await_head(self) -> None:
        self._head_deadline = self.loop.call_later(self.client_timeout_s, self._head_too_slow)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _cancel_body_deadline(self) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None

    def _stop_deadlines(self) -> None:
        self._cancel_head_deadline()
        self._cancel_body_deadline()

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if not self._between_requests():
            return  # an answer is being made: on_response_complete times what follows
        self._refuse(408, f"The request line and headers took over {self.client_timeout_s:g} s.")

    def _body_too_slow(self) -> None:
        self._body_deadline = None
        if self._answered():  # the route answered without reading it: just stop
            self.transport.close()
            return
        self._refuse(408, f"The request body took over {self.client_timeout_s:g} s.")

    def _answered(self) -> bool:
        """Whether the request being received has had (the start of) its answer."""
        return self.cycle is not None and self.cycle.response_started

    def _linger(self) -> None:
        assert self._lingering is not None
        raw = self._lingering.raw
        self._stop_deadlines()
        if raw.is_closing():
            return
        if self._shutting_down or not raw.can_write_eof():
            raw.close()
            return
        raw.write_eof()  # the answer, then FIN; a client that reads it closes its side
        raw.resume_reading()  # uvicorn may have paused reading during the request
        self.loop.call_later(LINGER_S, raw.close)

    def _refuse(self, status: int, detail: str) -> None:
        """Answer ``status`` and close; only close when an answer is being sent."""
        if self.transport.is_closing():
            return
        if self._answered() and not self.cycle.response_complete:
            self.transport.close()
            return
        phrase = HTTPStatus(status).phrase
        body = Problem(title=phrase, status=status, detail=detail).model_dump_json(
            exclude_none=True
        )
        head = (
            f"HTTP/1.1 {status} {phrase}\r\n"
            f"content-type: {PROBLEM_MEDIA_TYPE}\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode("latin-1") + body.encode())
        self.transport.close()  # lingering


def guarded_http_protocol(
    *, max_head_bytes: int, max_body_bytes: int, client_timeout_s: float
) -> type[HttpToolsProtocol]:
    """A :class:`GuardedHttpProtocol` class with these limits, for ``uvicorn.Config(http=…)``."""
    return type(
        "GuardedHttpProtocol",
        (GuardedHttpProtocol,),
        {
            "max_head_bytes": max_head_bytes,
            "max_body_bytes": max_body_bytes,
            "client_timeout_s": client_timeout_s,
        },
    )
