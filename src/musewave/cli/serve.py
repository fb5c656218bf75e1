"""``musewave serve``: the API, the progress streams and the local worker processes."""

from __future__ import annotations

import contextlib
import signal
import socket
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI

from musewave.config import Settings
from musewave.service.app import create_app, end_streams

WS_PING_INTERVAL_S = 30.0
STARTUP_FAILURE = 3  # uvicorn's exit status when the app cannot start


class _Server(uvicorn.Server):
    """uvicorn, ending the progress streams (WebSockets close with 1001) before it drops
    connections on shutdown (it would close WebSockets with 1012 Service Restart)."""

    def __init__(self, config: uvicorn.Config, app: FastAPI):
        super().__init__(config)
        self.app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await end_streams(self.app)
        await super().shutdown(sockets)


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve_command(
    host: Annotated[str | None, typer.Option(help="Interface (default MUSEWAVE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default MUSEWAVE_PORT).")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Worker processes (default MUSEWAVE_CONCURRENCY).")
    ] = None,
) -> None:
    """Run the API on HOST:PORT with a durable local queue (SQLite unless configured)."""
    overrides = {"host": host, "port": port, "concurrency": concurrency}
    settings = Settings.model_validate(
        {**Settings().model_dump(), **{k: v for k, v in overrides.items() if v is not None}}
    )
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws_ping_interval=WS_PING_INTERVAL_S,
        ws_ping_timeout=WS_PING_INTERVAL_S,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
        log_level=settings.log_level,
    )
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it to the handler it found: a
    # graceful stop is a clean exit (status 0), not death by signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    server = _Server(config, app)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: a graceful stop too
        server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)
