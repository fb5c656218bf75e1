"""uvicorn's HTTP/1.1 protocol (httptools), with limits on a request's head.

uvicorn bounds neither how long a client may take to send a request line and headers nor how
large they may be: 300 clients trickling a header a byte at a time hold 300 connections for as
long as they like, and a 100 KB header is read whole. This protocol gives each request head
``head_timeout_s`` from the connection (or from the request's first byte on a kept-alive
connection), answering 408, and refuses a head over ``max_head_bytes`` with 431. Both answers
are problem documents and close the connection. What comes after the head (the body) is
bounded by :class:`~musewave.service.request_guard.RequestGuard`.

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
LINGER_S = 1.0
LINGER_BYTES = 64 * 1024 * 1024


class _HeadTooLarge(Exception):
    """Raised inside a parser callback to stop parsing (httptools wraps it)."""


class _LingeringTransport:
    """The connection's transport, whose ``close`` lingers (see the module's description)."""

    def __init__(self, transport: asyncio.Transport, linger: Callable[[], None]) -> None:
        self.raw = transport
        self._linger = linger
        self.lingering = False

    def close(self) -> None:
        if not self.lingering:
            self.lingering = True
            self._linger()

    def is_closing(self) -> bool:
        return self.lingering or self.raw.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class GuardedHttpProtocol(HttpToolsProtocol):
    """Use :func:`guarded_http_protocol` to get one with limits set."""

    max_head_bytes = 16 * 1024
    head_timeout_s = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._head_deadline: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str] | None = None
        self._lingering: _LingeringTransport | None = None
        self._lingered_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._lingering = _LingeringTransport(transport, self._linger)
        self.transport = self._lingering  # type: ignore[assignment]
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_arrived()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the connection over, and closes it its own way.
        if self._lingering is not None:
            self.transport = self._lingering.raw
        super().handle_websocket_upgrade()

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None and self._lingering.lingering:
            self._lingered_bytes += len(data)  # the client is still sending: drop it
            if self._lingered_bytes > LINGER_BYTES:
                self._lingering.raw.abort()
            return
        super().data_received(data)

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        if self._head_deadline is None:  # a kept-alive connection's next request
            self._await_head()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head_arrived()
        super().on_headers_complete()

    # uvicorn answers a request httptools cannot parse with this (plain text); a head too
    # large stops the parser the same way.
    def send_400_response(self, msg: str) -> None:
        status, detail = self._refusal or (400, INVALID_REQUEST)
        self._refuse(status, detail)

    # Limits
    def _linger(self) -> None:
        assert self._lingering is not None
        raw = self._lingering.raw
        self._head_arrived()
        if raw.is_closing():
            return
        if not raw.can_write_eof():
            raw.close()
            return
        raw.write_eof()  # the answer, then FIN; a client that reads it closes its side
        raw.resume_reading()  # uvicorn may have paused reading during the request
        self.loop.call_later(LINGER_S, raw.close)

    def _await_head(self) -> None:
        self._head_deadline = self.loop.call_later(self.head_timeout_s, self._head_too_slow)

    def _head_arrived(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        self._refuse(408, f"The request line and headers took over {self.head_timeout_s:g} s.")

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_head_bytes:
            limit_kb = self.max_head_bytes // 1024
            self._refusal = (431, f"The request line and headers exceed {limit_kb} KB.")
            raise _HeadTooLarge

    def _refuse(self, status: int, detail: str) -> None:
        if self.transport.is_closing():
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


def guarded_http_protocol(*, max_head_bytes: int, head_timeout_s: float) -> type[HttpToolsProtocol]:
    """A :class:`GuardedHttpProtocol` class with these limits, for ``uvicorn.Config(http=…)``."""
    return type(
        "GuardedHttpProtocol",
        (GuardedHttpProtocol,),
        {"max_head_bytes": max_head_bytes, "head_timeout_s": head_timeout_s},
    )
