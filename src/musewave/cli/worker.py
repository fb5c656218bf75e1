"""``musewave worker``: render jobs from the BullMQ queue (production mode).

Run on as many machines as needed, sharing the database and the storage directory with the
API. Starts ``--concurrency`` worker processes (one job at a time each: rendering is
CPU-bound), restarts any that die (BullMQ hands their jobs to another worker once the lock
expires) and on SIGTERM/Ctrl-C lets running jobs finish for up to MUSEWAVE_SHUTDOWN_GRACE_S.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from musewave.cli.console import err_console, fail, out_console

SUPERVISE_INTERVAL_S = 1.0


def worker_command(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes (default MUSEWAVE_CONCURRENCY)."),
    ] = None,
) -> None:
    """Render queued jobs (needs MUSEWAVE_REDIS_URL; embedded mode renders inside `serve`)."""
    from musewave.cli.preflight import check_stores  # loaded when `worker` runs, as `serve`
    from musewave.config import Settings

    settings = Settings()
    if concurrency is not None:
        settings = settings.model_copy(update={"concurrency": concurrency})
    if not settings.redis_url:
        raise fail(
            "musewave worker needs MUSEWAVE_REDIS_URL (the BullMQ queue); "
            "without it, `musewave serve` runs the workers itself"
        )

    from musewave.observability import metrics

    # Before anything records a metric: the worker processes share this directory, and this
    # parent serves their sum on MUSEWAVE_METRICS_PORT.
    metrics_dir = metrics.prepare_multiprocess_dir()

    from musewave.jobs.bullmq_worker import bullmq_worker_main
    from musewave.jobs.local_pool import LocalWorkerPool

    check_stores(settings, "worker")

    from musewave.observability.logging import configure_logging

    configure_logging(settings)
    settings.storage_dir.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    metrics_server = None
    if settings.metrics_port:
        try:
            metrics_server, _ = metrics.serve_worker_metrics(settings.host, settings.metrics_port)
        except OSError as error:
            raise fail(
                f"cannot serve metrics on {settings.host}:{settings.metrics_port} ({error}); "
                "set MUSEWAVE_METRICS_PORT to a free port, or 0 for none"
            ) from None
    pool = LocalWorkerPool(settings, lambda event: None, target=bullmq_worker_main)
    pool.start()
    out_console.print(
        f"musewave worker: {settings.concurrency} processes on queue {settings.queue_name!r}"
    )
    try:
        while not stopping.wait(SUPERVISE_INTERVAL_S):
            for pid in pool.replace_dead():
                metrics.mark_process_dead(pid)
                err_console.print(f"worker process {pid} died; started a new one")
        killed = pool.stop(settings.shutdown_grace_s)
        if killed:
            err_console.print(f"stopped {len(killed)} busy worker processes after the grace period")
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
        metrics.remove_multiprocess_dir(metrics_dir)
