"""Running the app under uvicorn, with MuseWave's shutdown order and exit status."""

from __future__ import annotations

import contextlib
import gc
import signal
import socket
from types import FrameType

import uvicorn
from fastapi import FastAPI

from musewave.config import Settings
from musewave.observability.logging import configure_logging
from musewave.observability.tracing import configure_tracing
from musewave.service.app import create_app, end_streams
from musewave.service.http_protocol import guarded_http_protocol
from musewave.service.ws_protocol import FanOutWebSocketProtocol

WS_PING_INTERVAL_S = 30.0
# Progress events are ~200-byte JSON messages, each sent to every subscriber of a job. With
# permessage-deflate every socket keeps its own compressor and compresses every message again
# (and the client inflates it): 1,000 sockets cost the API ~42 ms of CPU per event instead of
# ~31 ms, and 200 MB of RSS instead of 163 MB. Clients that offer it get plain frames.
WS_PER_MESSAGE_DEFLATE = False
# Clients only listen on a progress socket (a message from them is read and dropped): a
# frame this small is plenty, and a flood of large frames costs nothing to refuse.
WS_MAX_MESSAGE_BYTES = 4096
STARTUP_FAILURE = 3  # uvicorn's exit status when the app cannot start


class _Server(uvicorn.Server):
    """uvicorn, with the objects made at startup kept out of the garbage collector's way, and
    ending the progress streams (WebSockets close with 1001) before it drops connections on
    shutdown (it would close WebSockets with 1012 Service Restart)."""

    def __init__(self, config: uvicorn.Config, app: FastAPI):
        super().__init__(config)
        self.app = app

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        # What exists once the app has started (modules, routes, models, schemas, the engine)
        # lives as long as the process. Frozen out of the collector's sight, it no longer
        # makes every full collection walk it: ~2 ms instead of ~100 ms, a pause of the event
        # loop that every request in flight and every socket of a fan-out would wait out.
        gc.collect()
        gc.freeze()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await end_streams(self.app)
        await super().shutdown(sockets)


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def run_server(settings: Settings) -> None:
    """Serve until SIGTERM/Ctrl-C (exit 0); exit 3 when the app cannot start."""
    configure_logging(settings)
    configure_tracing("musewave-api")  # before create_app, which instruments the app if on
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws_ping_interval=WS_PING_INTERVAL_S,
        ws_ping_timeout=WS_PING_INTERVAL_S,
        ws_per_message_deflate=WS_PER_MESSAGE_DEFLATE,
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        ws=FanOutWebSocketProtocol,
        http=guarded_http_protocol(
            max_head_bytes=settings.max_header_kb * 1024,
            max_body_bytes=settings.max_body_kb * 1024,
            client_timeout_s=settings.client_timeout_s,
        ),
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's loggers propagate to the handler configure_logging set
        access_log=False,  # RequestContextMiddleware writes the access log (with request IDs)
    )
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it to the handler it found: a
    # graceful stop is a clean exit (status 0), not death by signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    server = _Server(config, app)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: a graceful stop too
        server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)
