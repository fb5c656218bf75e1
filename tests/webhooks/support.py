"""A real HTTP receiver on loopback for webhook tests: it records every request and answers
with a scripted status, or drops the connection without answering."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DROP = -1  # a scripted answer: close the connection without a response

Predicate = Callable[[list["Received"]], bool]


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered (DROP: nothing)

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Receiver:
    """``script`` gives the answers to the first requests in turn; after it, ``default``.
    ``connections`` counts accepted TCP connections (also those never sending a request)."""

    host: str = "127.0.0.1"
    script: list[int] = field(default_factory=list)
    default: int = 204
    location: str | None = None  # a Location header for 3xx answers
    received: list[Received] = field(default_factory=list)
    connections: int = 0
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/hooks"

    def wait_for(self, predicate: Predicate, timeout_s: float = 90.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not predicate(self.received):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = [(r.id, r.payload.get("type"), r.status) for r in self.received]
                    raise AssertionError(f"receiver: condition not met; got {got}")
                self._changed.wait(remaining)
            return list(self.received)

    def _answer(self) -> int:
        with self._changed:
            n = len(self.received)
        return self.script[n] if n < len(self.script) else self.default

    def _record(self, item: Received) -> None:
        with self._changed:
            self.received.append(item)
            self._changed.notify_all()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            status = receiver._answer()
            headers = {k.lower(): v for k, v in self.headers.items()}
            if status == DROP:
                receiver._record(Received(headers, body, status))
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.send_response(status)
            if receiver.location and 300 <= status < 400:
                self.send_header("Location", receiver.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            receiver._record(Received(headers, body, status))

        def log_message(self, *_: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: Receiver, address: tuple[str, int]) -> None:
        self.receiver = receiver
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _handler(receiver))

    def get_request(self) -> tuple[socket.socket, Any]:
        connection = super().get_request()
        with self.receiver._changed:
            self.receiver.connections += 1
        return connection


@contextmanager
def receiving(host: str = "127.0.0.1", **options: Any) -> Iterator[Receiver]:
    """A :class:`Receiver` serving on ``host`` (a free port) for the block."""
    receiver = Receiver(host=host, **options)
    server = _Server(receiver, (host, 0))
    receiver._server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
