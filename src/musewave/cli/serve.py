"""``musewave serve``: the API, the progress streams and the local worker processes."""

from __future__ import annotations

from typing import Annotated

import typer

# Settings, the preflight checks and metrics load when `serve` runs: `musewave generate`
# starts without pydantic-settings and asyncio (~0.1 s).


def serve_command(
    host: Annotated[str | None, typer.Option(help="Interface (default MUSEWAVE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default MUSEWAVE_PORT).")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Worker processes (default MUSEWAVE_CONCURRENCY).")
    ] = None,
) -> None:
    """Run the API on HOST:PORT with a durable local queue (SQLite unless configured)."""
    from musewave.cli.preflight import check_access, check_stores
    from musewave.config import Settings
    from musewave.observability.metrics import prepare_multiprocess_dir, serve_metrics_dir

    overrides = {"host": host, "port": port, "concurrency": concurrency}
    settings = Settings.model_validate(
        {**Settings().model_dump(), **{k: v for k, v in overrides.items() if v is not None}}
    )
    # Metrics of this process and its workers go to files there; first, before anything
    # imports prometheus_client and before the workers start (they inherit the location).
    prepare_multiprocess_dir(serve_metrics_dir(settings.data_dir, settings.port))
    check_stores(settings, "server")
    check_access(settings)
    from musewave.service.server import run_server  # the web stack loads only for `serve`

    run_server(settings)
