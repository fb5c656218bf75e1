"""Prometheus metrics: every ``musewave_*`` series, one-line functions for call sites, and
the text exposition served at ``/metrics``.

Processes. Rendering runs in worker processes, so values live in prometheus-client's
multiprocess mode: the parent of a process tree (``musewave serve``, or the ``musewave worker``
parent) calls :func:`prepare_multiprocess_dir` before any metric is touched and before it
starts children; they inherit ``PROMETHEUS_MULTIPROC_DIR`` and write their values to files
there, and :func:`exposition` merges the files of every process. prometheus-client picks its
storage when it is first imported, so this module imports it only when a metric is first used.

Where each count happens, so that no event is counted twice by several processes or replicas:
enqueued and queued-job cancellations in the process that changed the job (the API, or an
operator command that joined its directory with :func:`attach_multiprocess_dir`); attempt
outcomes, durations and the real-time factor in the worker that ran the attempt
(``JobRunner``); queue depths are read from the queue at scrape time by whichever process is
scraped.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import Counter, Histogram
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import Collector

    from musewave.jobs.records import QueueStats

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Prometheus 2 and later parse this text format; prometheus-client's newer default type
# (version=1.0.0) means the same bytes for names like ours.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Breakers named by the architecture; their series exist (closed, no failures) from the start
# so dashboards and alert rules see them before the first failure.
KNOWN_BREAKERS = ("engine", "encoder", "llm")
# The engine's stages (engine/progress.py STAGES, not imported: the cache counts through this
# module and must not pull in the engine), pre-created for the same reason.
ENGINE_STAGES = (
    "planning",
    "composing",
    "rendering",
    "vocals",
    "mixing",
    "mastering",
    "video",
    "encoding",
    "validating",
)
UNMATCHED_ROUTE = "unmatched"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Attempts take 0.1 s (an injected fault) to 300 s (the longest track on a slow machine).
JOB_DURATION_BUCKETS_S = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 180.0, 300.0,
)  # fmt: skip
STAGE_DURATION_BUCKETS_S = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip
# 0.2 s is a bucket edge so the p95 latency alert's threshold is measured, not interpolated.
HTTP_DURATION_BUCKETS_S = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Seconds of audio per second of rendering; the engine does ~20 on one core.
REALTIME_FACTOR_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 60.0, 100.0)

Outcome = Literal["completed", "failed", "retried", "dead", "cancelled"]
OUTCOMES: tuple[Outcome, ...] = ("completed", "failed", "retried", "dead", "cancelled")
# Job priorities (jobs/records.py Priority values), pre-created like the stages.
PRIORITIES = ("high", "normal", "low")
PLAN_SOURCES = ("rules", "llm", "cache", "fallback")
# The original backend named its histograms in milliseconds; Prometheus names carry base
# units (promtool check metrics rejects `_ms`). Old name → the name exported now, whose
# values are in seconds: multiply by 1000 (`le` bucket bounds too) for the old numbers.
RENAMED_FROM_MS = {
    "musewave_job_duration_ms": "musewave_job_duration_seconds",
    "musewave_job_stage_duration_ms": "musewave_job_stage_duration_seconds",
    "musewave_http_request_duration_ms": "musewave_http_request_duration_seconds",
}
# Job state after an attempt (JobState values) → what happened.
_OUTCOMES: dict[str, Outcome] = {
    "completed": "completed",
    "failed": "failed",
    "queued": "retried",  # a failed attempt with retries left goes back to the queue
    "dead": "dead",
    "cancelled": "cancelled",
}

logger = logging.getLogger(__name__)


class _Metrics:
    """Every metric object of this process, created on first use (see the module docstring).

    Gauges say how values of several processes combine: ``livesum`` adds the values of
    processes still alive, ``livemostrecent`` keeps the latest write of any live process.
    """

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

        # *_created series would differ per process and mean nothing once merged.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.jobs_enqueued = Counter(
            "musewave_jobs_enqueued_total", "Jobs created by a submission.", ["priority"]
        )
        self.jobs = {
            outcome: Counter(f"musewave_jobs_{outcome}_total", help_text)
            for outcome, help_text in (
                ("completed", "Jobs that finished with their files."),
                ("failed", "Jobs that failed with an error retrying cannot fix."),
                ("retried", "Failed attempts sent back to the queue to be retried."),
                ("dead", "Jobs moved to the dead-letter state after their last attempt failed."),
                ("cancelled", "Jobs cancelled, queued or running."),
            )
        }
        self.job_duration_s = Histogram(
            "musewave_job_duration_seconds",
            "Wall time of one job attempt in a worker, by its outcome, in seconds.",
            ["outcome"],
            buckets=JOB_DURATION_BUCKETS_S,
        )
        self.stage_duration_s = Histogram(
            "musewave_job_stage_duration_seconds",
            "Wall time of one engine stage of a completed attempt, in seconds.",
            ["stage"],
            buckets=STAGE_DURATION_BUCKETS_S,
        )
        self.realtime_factor = Histogram(
            "musewave_engine_realtime_factor",
            "Seconds of audio rendered per second of wall time, per completed attempt.",
            buckets=REALTIME_FACTOR_BUCKETS,
        )
        self.worker_processes = Gauge(
            "musewave_worker_processes",
            "Worker processes alive and able to run jobs (each live worker adds 1).",
            multiprocess_mode="livesum",
        )
        self.cache_hits = Counter("musewave_cache_hits_total", "Cache keys read and found.")
        self.cache_misses = Counter(
            "musewave_cache_misses_total",
            "Cache keys read and not found, including reads a cache outage turned into misses.",
        )
        self.cache_errors = Counter(
            "musewave_cache_errors_total",
            "Cache operations the backend could not serve (unreachable, refusing, corrupt).",
        )
        # The latest change in any live process wins: right when the breakers share their
        # state through Redis; with per-process breakers (embedded mode) it shows the latest
        # change any worker saw.
        self.breaker_open = Gauge(
            "musewave_circuit_breaker_open",
            "1 while the circuit breaker is open (failing fast), else 0.",
            ["breaker"],
            multiprocess_mode="livemostrecent",
        )
        self.breaker_failures = Counter(
            "musewave_circuit_breaker_failures_total",
            "Calls through the circuit breaker that failed.",
            ["breaker"],
        )
        self.plans = Counter(
            "musewave_plans_total",
            "Plans made, by where they came from: rules (no LLM configured), llm, cache (an "
            "LLM plan made before) or fallback (the LLM failed or its breaker was open).",
            ["source"],
        )
        self.http_requests = Counter(
            "musewave_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
        )
        self.http_duration_s = Histogram(
            "musewave_http_request_duration_seconds",
            "Time until the response headers were sent, in seconds.",
            ["method", "route", "status"],
            buckets=HTTP_DURATION_BUCKETS_S,
        )
        self.websocket_connections = Gauge(
            "musewave_websocket_connections",
            "Open progress WebSocket connections.",
            multiprocess_mode="livesum",
        )
        # Every series with a known label value exists at zero from the start, so dashboards
        # and rate() alerts see it before the first event. (HTTP series are labelled by what
        # clients ask for; they appear with the first request of each kind.)
        for name in KNOWN_BREAKERS:
            self.breaker_open.labels(name)
            self.breaker_failures.labels(name)
        for stage in ENGINE_STAGES:
            self.stage_duration_s.labels(stage)
        for outcome in OUTCOMES:
            self.job_duration_s.labels(outcome)
        for priority in PRIORITIES:
            self.jobs_enqueued.labels(priority)
        for source in PLAN_SOURCES:
            self.plans.labels(source)


@functools.cache
def _metrics() -> _Metrics:
    return _Metrics()


# --- processes -------------------------------------------------------------------------------


def _check_not_imported_yet() -> None:
    values = sys.modules.get("prometheus_client.values")
    if values is not None and not getattr(values.ValueClass, "_multiprocess", False):
        raise RuntimeError(
            "prometheus_client was imported before the multiprocess directory was set; call "
            "prepare_multiprocess_dir() first thing in the process"
        )


def serve_metrics_dir(data_dir: Path, port: int) -> Path:
    """Where the ``musewave serve`` on ``port`` and its worker processes keep their metric files.

    Inside the data directory, so a short-lived command on the same data (``musewave jobs
    cancel``) can add its counts with :func:`attach_multiprocess_dir`; one folder per port, so
    two servers sharing a data directory neither wipe nor add up each other's values.
    """
    return data_dir / "metrics" / f"port-{port}"


def prepare_multiprocess_dir(path: Path | None = None) -> Path:
    """Make ``path`` an empty directory and point this process and the children it will start
    at it (``PROMETHEUS_MULTIPROC_DIR``). ``None``: a new private temporary directory.

    Call it in the parent of a process tree before any metric is used and before children
    start. Each process tree needs its own directory: two trees sharing one would count each
    other's values. Raises ``RuntimeError`` when prometheus-client is already in use here.
    """
    _check_not_imported_yet()
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="musewave-metrics-"))
    else:
        shutil.rmtree(path, ignore_errors=True)  # values of a previous run must not add up
        path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path.resolve())
    # The breakers' initial state, written first: a later change by any child is more recent
    # and wins (see _Metrics); a child that started later must not overwrite it with this.
    for name in KNOWN_BREAKERS:
        set_breaker_open(name, False)
    return path


def attach_multiprocess_dir(path: Path) -> bool:
    """Write this short-lived process's counts into the running tree's directory ``path``
    (left as it is), so that tree's exposition includes them. False when ``path`` does not
    exist (no server has prepared it): counts then stay in this process and are lost."""
    if not path.is_dir():
        return False
    _check_not_imported_yet()
    os.environ[MULTIPROC_ENV] = str(path.resolve())
    return True


def remove_multiprocess_dir(path: Path) -> None:
    """Delete the directory of a process tree that has stopped."""
    shutil.rmtree(path, ignore_errors=True)


def multiprocess_dir() -> Path | None:
    """The directory this process writes its values to, or None (single-process mode)."""
    path = os.environ.get(MULTIPROC_ENV)
    return Path(path) if path else None


def mark_process_dead(pid: int) -> None:
    """Forget the live gauges of child ``pid``, which exited (crash, kill, or stop): it no
    longer counts as a live worker or an open WebSocket. Its counters are kept."""
    path = multiprocess_dir()
    if path is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]


class _AllOf:
    """Several collectors as one."""

    def __init__(self, collectors: Iterable[Collector]) -> None:
        self._collectors = tuple(collectors)

    def collect(self) -> Iterator[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


@functools.cache
def _process_collector() -> Collector:
    """In multiprocess mode: every process's merged values plus this process's own process,
    platform and GC facts. Otherwise: the default registry, which holds all of those."""
    from prometheus_client import (
        REGISTRY,
        CollectorRegistry,
        GCCollector,
        PlatformCollector,
        ProcessCollector,
    )
    from prometheus_client.multiprocess import MultiProcessCollector

    _metrics()
    path = multiprocess_dir()
    if path is None:
        return REGISTRY
    # A registry of its own: the default one holds this process's values only, which the
    # merged files already contain.
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def exposition(*extra: Collector) -> tuple[bytes, str]:
    """The text exposition of every metric (and of ``extra`` collectors) with its content
    type. Blocking: ``extra`` collectors may query the database."""
    from prometheus_client import generate_latest

    return generate_latest(_AllOf((_process_collector(), *extra))), CONTENT_TYPE


def serve_worker_metrics(host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve :func:`exposition` at ``http://host:port/metrics`` on a daemon thread (for the
    ``musewave worker`` parent; call :func:`prepare_multiprocess_dir` first). Stop it with
    ``server.shutdown()``. Raises ``OSError`` when the port is taken."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=host, registry=_process_collector())


class QueueCollector:
    """``musewave_queue_*`` gauges read from the queue at scrape time (one query).

    ``waiting`` counts queued jobs that may start now; ``delayed`` those backing off before a
    retry. A failing read is logged and leaves the gauges out of that scrape.
    """

    def __init__(self, stats: Callable[[], QueueStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.core import GaugeMetricFamily

        try:
            stats = self._stats()
        except Exception as error:  # a scrape reports what it can; it never fails
            logger.warning("queue statistics unavailable for /metrics: %s", error)
            return
        values = {
            "waiting": (stats.queued - stats.delayed, "Queued jobs that may start now."),
            "active": (stats.active, "Jobs running in a worker."),
            "delayed": (stats.delayed, "Queued jobs waiting out a retry delay."),
            "completed": (stats.completed, "Completed jobs kept in the queue."),
            "failed": (stats.failed, "Jobs failed for good (not retryable)."),
            "dead": (stats.dead, "Jobs in the dead-letter state."),
            "aborted": (stats.aborted, "Jobs whose deadline passed before they started."),
        }
        for state, (value, help_text) in values.items():
            yield GaugeMetricFamily(f"musewave_queue_{state}", help_text, value=value)


# --- call sites ------------------------------------------------------------------------------


def job_enqueued(priority: str) -> None:
    """A submission created a new job (not for an idempotent repeat or a cache hit)."""
    _metrics().jobs_enqueued.labels(priority).inc()


def job_cancelled() -> None:
    """A queued job was cancelled outside any worker (the API or the operator CLI)."""
    _metrics().jobs["cancelled"].inc()


def job_attempt_finished(state: str, duration_s: float) -> None:
    """A worker's attempt left the job in ``state`` (a ``JobState``): completed, failed,
    queued (to be retried), dead or cancelled. ``duration_s``: the attempt's wall time."""
    outcome = _OUTCOMES[state]
    metrics = _metrics()
    metrics.jobs[outcome].inc()
    metrics.job_duration_s.labels(outcome).observe(duration_s)


def job_abandoned(state: str) -> None:
    """An attempt ended without its worker reporting (the worker died or stalled): the job
    went to ``state`` (queued to be retried, dead, or cancelled). No duration is known."""
    _metrics().jobs[_OUTCOMES[state]].inc()


def job_completed(duration_s: float, stage_timings_s: Mapping[str, float], audio_s: float) -> None:
    """A worker's attempt completed: ``audio_s`` seconds of audio in ``duration_s``, with
    each engine stage's wall time in ``stage_timings_s``."""
    job_attempt_finished("completed", duration_s)
    metrics = _metrics()
    for stage, seconds in stage_timings_s.items():
        metrics.stage_duration_s.labels(stage).observe(seconds)
    if duration_s > 0:
        metrics.realtime_factor.observe(audio_s / duration_s)


def worker_process_started() -> None:
    """This process runs jobs from now on (until it exits; see :func:`mark_process_dead`)."""
    _metrics().worker_processes.set(1)


def cache_read(hits: int, misses: int, errors: int) -> None:
    """Cache keys found and not found, and backend failures, in one cache call."""
    metrics = _metrics()
    if hits:
        metrics.cache_hits.inc(hits)
    if misses:
        metrics.cache_misses.inc(misses)
    if errors:
        metrics.cache_errors.inc(errors)


def plan_made(source: str) -> None:
    """A plan came from ``source`` (one of :data:`PLAN_SOURCES`)."""
    _metrics().plans.labels(source).inc()


def set_breaker_open(name: str, is_open: bool) -> None:
    """Circuit breaker ``name`` opened (True) or closed/half-opened (False)."""
    _metrics().breaker_open.labels(name).set(1 if is_open else 0)


def count_breaker_failure(name: str) -> None:
    """A call through circuit breaker ``name`` failed."""
    _metrics().breaker_failures.labels(name).inc()


# (method, route, status) → that series' request counter and duration histogram: looking a
# labelled child up (a lock and a tuple of strings each time) costs more than updating it.
_http_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def http_request(method: str, route: str | None, status: int, duration_s: float) -> None:
    """One HTTP response. ``route``: the matched route's template (``/v1/jobs/{job_id}``),
    None when nothing matched; raw paths never become labels (one series per id would grow
    without bound), nor do unknown methods."""
    if method not in HTTP_METHODS:
        method = "other"
    key = (method, route or UNMATCHED_ROUTE, status)
    series = _http_series.get(key)
    if series is None:
        metrics = _metrics()
        labels = (key[0], key[1], str(status))
        series = (
            metrics.http_requests.labels(*labels),
            metrics.http_duration_s.labels(*labels),
        )
        _http_series[key] = series
    series[0].inc()
    series[1].observe(duration_s)


@contextlib.contextmanager
def websocket_connection() -> Iterator[None]:
    """Counts one open progress WebSocket while the block runs."""
    gauge = _metrics().websocket_connections
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()
