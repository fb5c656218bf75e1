"""``musewave serve``: the API, the progress streams and the local worker processes."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from musewave.config import Settings
from musewave.service.app import create_app

WS_PING_INTERVAL_S = 30.0


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
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ws_ping_interval=WS_PING_INTERVAL_S,
        ws_ping_timeout=WS_PING_INTERVAL_S,
        timeout_graceful_shutdown=int(settings.shutdown_grace_s) + 5,
        log_level=settings.log_level,
    )
