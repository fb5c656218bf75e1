"""Queue benchmark of the production backend: BullMQ on Redis, jobs recorded in PostgreSQL.

(a) Enqueue throughput from one API process: ``BullMQBackend.enqueue`` (a PostgreSQL insert,
    then a BullMQ add) called back to back, and from 4 threads as the API's thread pool would.
(b) Enqueue → start latency with idle workers: ``musewave worker --concurrency 2`` waits on an
    empty queue; one job at a time is enqueued after an idle pause, and cancelled as soon as
    it starts so the workers are idle again for the next. Latency is the job's ``started_at``
    (written by the worker when BullMQ hands it the job) minus its ``created_at``.
(c) Job throughput with 1, 2 and 4 worker processes (``musewave worker --concurrency k``)
    rendering 30 s tracks in the API's default formats (mp3 + wav): jobs/min from the first
    enqueue to the last completion, and the ratio to one process. Workers are connected to the
    queue before the jobs are enqueued, so start-up is not counted. Also reported: how many
    CPUs the worker processes kept busy and their CPU seconds per job, which tell a
    saturated machine (other load) from a queue that does not scale.

It needs a PostgreSQL server (an admin URL: the benchmark creates and drops its own
databases) and a Redis. ``scripts/test-services`` starts private ones and exports their URLs::

    scripts/test-services .venv/bin/python bench/queue_bench.py \
        [--enqueue-jobs 1000] [--latency-samples 40] [--throughput-jobs 12] \
        [--workers 1,2,4] [--repeats 3]

or pass ``--database-url`` and ``--redis-url``. A count of 0 skips that part
(``--enqueue-jobs 0 --latency-samples 0`` measures throughput only). Prints a Markdown table
(medians over ``--repeats`` for throughput) and one JSON line with every number.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psutil
from bullmq import Queue
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from musewave.config import Settings
from musewave.db import upgrade
from musewave.engine.request import GenerationRequest
from musewave.jobs import open_queue
from musewave.jobs.bullmq_backend import BullMQBackend
from musewave.jobs.bullmq_options import queue_options
from musewave.jobs.records import JobRecord

T = TypeVar("T")
READY_TIMEOUT_S = 90.0
GENRES = ("house", "lofi", "ambient", "rock")  # the same mix of tracks in every run
ENQUEUE_THREADS = 4


@dataclass
class Bench:
    """One queue on a fresh database: the API side (``queue``) and the settings workers use."""

    settings: Settings
    queue: BullMQBackend


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new, migrated PostgreSQL database on the server of ``admin_url``; dropped after."""
    admin = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    name = f"musewave_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def bench_queue(args: argparse.Namespace, root: Path) -> Iterator[Bench]:
    with fresh_database(args.database_url) as database_url:
        name = f"bench-{uuid.uuid4().hex[:10]}"
        settings = Settings(
            redis_url=args.redis_url,
            database_url=database_url,
            queue_name=name,
            data_dir=root / name,
            log_level="warning",
            metrics_port=0,
        )
        try:
            with open_queue(settings) as queue:
                assert isinstance(queue, BullMQBackend)
                yield Bench(settings, queue)
        finally:
            asyncio.run(_obliterate(settings))


async def _obliterate(settings: Settings) -> None:
    queue = Queue(settings.queue_name, queue_options(settings))
    try:
        await queue.obliterate(force=True)
    finally:
        await queue.close()


@contextlib.contextmanager
def workers(bench: Bench, processes: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``musewave worker --concurrency processes`` on the bench's queue, connected and idle."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEWAVE_")}
    settings = bench.settings
    env |= {
        "MUSEWAVE_REDIS_URL": settings.redis_url or "",
        "MUSEWAVE_DATABASE_URL": settings.resolved_database_url,
        "MUSEWAVE_DATA_DIR": str(settings.data_dir),
        "MUSEWAVE_QUEUE_NAME": settings.queue_name,
        "MUSEWAVE_LOG_LEVEL": "warning",
        "MUSEWAVE_METRICS_PORT": "0",
        "MUSEWAVE_SHUTDOWN_GRACE_S": "10",
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "musewave.cli", "worker", "--concurrency", str(processes)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(
                lambda: bench.queue.worker_count() >= processes or None,
                READY_TIMEOUT_S,
                f"{processes} workers to connect (see {log_path})",
                alive=process,
            )
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(
    read: Callable[[], T | None],
    timeout_s: float,
    what: str,
    *,
    interval_s: float = 0.005,
    alive: subprocess.Popen[bytes] | None = None,
) -> T:
    """Poll ``read`` (a database or Redis read: there is no event to await) until it returns
    something other than None or False."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if value is not None and value is not False:
            return value
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(f"gave up waiting for {what}: the process exited")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def track(n: int, *, seeded: bool = True) -> GenerationRequest:
    fields: dict[str, Any] = {
        "prompt": f"benchmark track {n} {uuid.uuid4().hex[:6]}",
        "genres": [GENRES[n % len(GENRES)]],
        "duration_s": 30,
    }
    if seeded:
        fields["seed"] = n
    return GenerationRequest.model_validate(fields)


# --- (a) enqueue throughput ---------------------------------------------------------------------


def enqueue_throughput(bench: Bench, jobs: int, threads: int) -> dict[str, float]:
    requests = [track(n, seeded=False) for n in range(jobs)]
    latencies_ms: list[float] = []

    def enqueue(request: GenerationRequest) -> None:
        started = time.perf_counter()
        bench.queue.enqueue(request)
        latencies_ms.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    if threads == 1:
        for request in requests:
            enqueue(request)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(enqueue, requests))
    seconds = time.perf_counter() - started
    return {
        "jobs_per_s": jobs / seconds,
        "p50_ms": percentile(latencies_ms, 50),
        "p99_ms": percentile(latencies_ms, 99),
    }


# --- (b) enqueue -> start latency ---------------------------------------------------------------


def start_latency(bench: Bench, samples: int, log_path: Path) -> dict[str, float]:
    queue = bench.queue
    latencies_ms: list[float] = []
    rng = random.Random(7)
    with workers(bench, 2, log_path):
        for n in range(samples):
            time.sleep(rng.uniform(0.3, 0.8))  # the workers sit idle, blocked on Redis
            job, _ = queue.enqueue(track(n, seeded=False))
            started = wait_for(
                lambda j=job: _started(queue.store.get(j.id)), 30, f"job {n} to start"
            )
            latencies_ms.append((started.started_at - started.created_at).total_seconds() * 1000)
            queue.cancel(job.id)
            wait_for(lambda j=job: _finished(queue.store.get(j.id)), 60, f"job {n} to stop")
    return {
        "p50_ms": percentile(latencies_ms, 50),
        "p99_ms": percentile(latencies_ms, 99),
        "max_ms": max(latencies_ms),
    }


def _started(job: JobRecord | None) -> Any:
    return job if job is not None and job.started_at is not None else None


def _finished(job: JobRecord | None) -> Any:
    return job if job is not None and job.state.is_finished else None


# --- (c) job throughput -------------------------------------------------------------------------


def job_throughput(bench: Bench, processes: int, jobs: int, log_path: Path) -> dict[str, float]:
    queue = bench.queue
    with workers(bench, processes, log_path) as supervisor:
        cpu_before_s = cpu_seconds(supervisor.pid)
        ids = [queue.enqueue(track(n))[0].id for n in range(jobs)]

        def all_finished() -> list[JobRecord] | None:
            records = [queue.store.get(job_id) for job_id in ids]
            done = [r for r in records if r is not None and r.state.is_finished]
            return done if len(done) == len(ids) else None

        records = wait_for(all_finished, 60 * jobs, "every job to finish", interval_s=0.1)
        cpu_used_s = cpu_seconds(supervisor.pid) - cpu_before_s
    completed = [r for r in records if r.state == "completed"]
    first = min(r.created_at for r in records)
    last = max(r.finished_at or r.updated_at for r in records)
    seconds = (last - first).total_seconds()
    # Job-seconds of rendering per second of wall time: how many jobs ran at once on average.
    busy_s = sum(
        (r.finished_at - r.started_at).total_seconds()
        for r in completed
        if r.finished_at and r.started_at
    )
    return {
        "jobs_per_min": len(completed) / seconds * 60,
        "seconds": seconds,
        "completed": len(completed),
        "mean_parallel_jobs": busy_s / seconds,
        "mean_job_s": busy_s / max(1, len(completed)),
        "worker_cpus_busy": cpu_used_s / seconds,
        "cpu_s_per_job": cpu_used_s / max(1, len(completed)),
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children so far."""
    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("MUSEWAVE_TEST_DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("MUSEWAVE_TEST_REDIS_URL", ""))
    parser.add_argument("--enqueue-jobs", type=int, default=1000)
    parser.add_argument("--latency-samples", type=int, default=40)
    parser.add_argument("--throughput-jobs", type=int, default=12)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql") or not args.redis_url:
        parser.error(
            "needs PostgreSQL and Redis: run through scripts/test-services, "
            "or pass --database-url postgresql+psycopg://... and --redis-url redis://..."
        )
    counts = [int(part) for part in args.workers.split(",")]
    results: dict[str, Any] = {"cpus": os.cpu_count()}

    with tempfile.TemporaryDirectory(prefix="musewave-queue-bench-") as tmp:
        root = Path(tmp)
        log_path = root / "workers.log"
        for threads in (1, ENQUEUE_THREADS) if args.enqueue_jobs > 0 else ():
            with bench_queue(args, root) as bench:
                results[f"enqueue_{threads}_threads"] = enqueue_throughput(
                    bench, args.enqueue_jobs, threads
                )
        if args.latency_samples > 0:
            with bench_queue(args, root) as bench:
                results["start_latency"] = start_latency(bench, args.latency_samples, log_path)
        runs: dict[int, list[dict[str, float]]] = {k: [] for k in counts}
        for _ in range(args.repeats if args.throughput_jobs > 0 else 0):
            for processes in counts:
                with bench_queue(args, root) as bench:
                    run = job_throughput(bench, processes, args.throughput_jobs, log_path)
                    runs[processes].append(run)
                    print(f"  {processes} worker processes: {run}", file=sys.stderr)
        results["throughput"] = summarize(runs) if args.throughput_jobs > 0 else {}

    print_table(results, args)
    print(json.dumps(rounded(results)))


def summarize(runs: dict[int, list[dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """Medians per worker count; ``scaling`` is relative to the first (smallest) count."""
    medians = {k: statistics.median(r["jobs_per_min"] for r in rs) for k, rs in runs.items()}
    base = medians[min(runs)]
    return {
        str(k): {
            "jobs_per_min": medians[k],
            "runs": [round(r["jobs_per_min"], 1) for r in rs],
            "scaling": medians[k] / base,
            "completed": min(int(r["completed"]) for r in rs),
            "worker_cpus_busy": statistics.median(r["worker_cpus_busy"] for r in rs),
            "cpu_s_per_job": statistics.median(r["cpu_s_per_job"] for r in rs),
        }
        for k, rs in runs.items()
    }


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def print_table(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"\nMuseWave queue benchmark (BullMQ + PostgreSQL) — {results['cpus']} CPUs\n")
    print("| measurement | value |")
    print("|---|---|")
    for threads in (1, ENQUEUE_THREADS):
        if f"enqueue_{threads}_threads" not in results:
            continue
        r = results[f"enqueue_{threads}_threads"]
        print(
            f"| enqueue, {threads} thread{'s' if threads > 1 else ''} ({args.enqueue_jobs} jobs) "
            f"| {r['jobs_per_s']:.0f} jobs/s (call p50 {r['p50_ms']:.1f} ms, "
            f"p99 {r['p99_ms']:.1f} ms) |"
        )
    if latency := results.get("start_latency"):
        print(
            f"| enqueue → start, idle workers ({args.latency_samples} jobs) "
            f"| p50 {latency['p50_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms, "
            f"max {latency['max_ms']:.1f} ms |"
        )
    for k, r in results["throughput"].items():
        print(
            f"| {k} worker process{'es' if k != '1' else ''}, 30 s tracks "
            f"({args.throughput_jobs} jobs, median of {args.repeats}) "
            f"| {r['jobs_per_min']:.1f} jobs/min (×{r['scaling']:.2f}; runs {r['runs']}); "
            f"workers kept {r['worker_cpus_busy']:.2f} CPUs busy, "
            f"{r['cpu_s_per_job']:.2f} CPU s/job |"
        )
    print()


if __name__ == "__main__":
    main()
