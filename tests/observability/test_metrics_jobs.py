"""Job counters, durations and queue gauges move as jobs run, read back from ``/metrics`` of a
real ``musewave serve`` whose worker processes count what they did."""

from __future__ import annotations

import httpx

from musewave.engine.progress import STAGES as engine_stages
from musewave.jobs.states import Priority
from musewave.observability.metrics import ENGINE_STAGES, PRIORITIES, RENAMED_FROM_MS
from tests.observability.conftest import Scrape, scrape, scrape_url, wait_until
from tests.service.conftest import StartServer
from tests.service.support import (
    STAGES,
    ServerProcess,
    WsWatcher,
    busy_worker,
    cancel,
    free_port,
    is_terminal,
    submit,
    track,
)

FAST_RETRIES = {"MUSEWAVE_CONCURRENCY": "1", "MUSEWAVE_RETRY_DELAYS_S": "0.2,0.2,0.2"}
OUTCOMES = ("completed", "failed", "retried", "dead", "cancelled")


def counts(metrics: Scrape) -> dict[str, float]:
    """Every job counter, and attempts observed in the duration histogram per outcome."""
    values = {"enqueued": metrics.total("musewave_jobs_enqueued_total")}
    for outcome in OUTCOMES:
        values[outcome] = metrics.value(f"musewave_jobs_{outcome}_total")
        values[f"{outcome} attempts"] = metrics.value(
            "musewave_job_duration_seconds_count", outcome=outcome
        )
    return values


def moved(before: Scrape, after: Scrape) -> dict[str, float]:
    """What changed between two scrapes (unchanged counters left out)."""
    old, new = counts(before), counts(after)
    return {name: new[name] - old[name] for name in new if new[name] != old[name]}


def run_to_end(server: ServerProcess, client: httpx.Client, body: dict[str, object]) -> str:
    """Submit ``body`` and wait for its final event; returns the event's type."""
    job_id = submit(client, body)["id"]
    with WsWatcher(server, job_id) as watcher:
        return str(watcher.wait_for(is_terminal)["type"])


def test_pre_created_stage_series_match_the_engine() -> None:
    assert engine_stages == ENGINE_STAGES


def test_pre_created_priorities_match_the_job_priorities() -> None:
    assert tuple(priority.value for priority in Priority) == PRIORITIES


def test_labelled_series_exist_at_zero_before_the_first_job(start_server: StartServer) -> None:
    metrics = scrape(start_server(MUSEWAVE_CONCURRENCY="1"))

    def zero(name: str, **labels: str) -> bool:
        return metrics.samples.get((name, frozenset(labels.items()))) == 0

    for priority in PRIORITIES:
        assert zero("musewave_jobs_enqueued_total", priority=priority), priority
    for outcome in OUTCOMES:
        assert zero(f"musewave_jobs_{outcome}_total"), outcome
        assert zero("musewave_job_duration_seconds_count", outcome=outcome), outcome
        assert zero("musewave_job_duration_seconds_bucket", outcome=outcome, le="+Inf")
    for stage in ENGINE_STAGES:
        assert zero("musewave_job_stage_duration_seconds_count", stage=stage), stage
    for breaker in ("engine", "encoder", "llm"):
        assert zero("musewave_circuit_breaker_failures_total", breaker=breaker), breaker
    # Durations are in seconds now; the original backend's millisecond names are gone.
    assert not {f"{old}_count" for old in RENAMED_FROM_MS} & metrics.names
    assert {f"{new}_count" for new in RENAMED_FROM_MS.values()} <= metrics.names


def test_completed_job_is_counted_once_with_its_durations(start_server: StartServer) -> None:
    server = start_server(**FAST_RETRIES)
    before = scrape(server)
    body = track("counted", seed=5)
    with server.client() as client:
        assert run_to_end(server, client, body) == "completed"
        after = scrape(server)
        # The same seeded request again is served from the result cache: no new job.
        assert submit(client, body, expect=200)["created"] is False
        repeat = scrape(server)

    assert moved(before, after) == {"enqueued": 1, "completed": 1, "completed attempts": 1}
    assert after.value("musewave_jobs_enqueued_total", priority="normal") == 1
    assert moved(after, repeat) == {}
    # A 30 s track takes a second or more to render (never 0, never 300 s).
    duration_s = after.value("musewave_job_duration_seconds_sum", outcome="completed")
    assert 0.1 < duration_s < 300
    for stage in STAGES:
        assert after.value("musewave_job_stage_duration_seconds_count", stage=stage) == 1, stage
        assert after.value("musewave_job_stage_duration_seconds_sum", stage=stage) > 0, stage
    stage_sum_s = sum(
        after.value("musewave_job_stage_duration_seconds_sum", stage=stage) for stage in STAGES
    )
    assert stage_sum_s <= duration_s
    # Real-time factor: 30 s of audio over the attempt's wall time.
    assert after.value("musewave_engine_realtime_factor_count") == 1
    rtf = after.value("musewave_engine_realtime_factor_sum")
    assert abs(rtf - 30 / duration_s) < 0.01 * rtf
    assert after.value("musewave_queue_completed") == 1
    assert after.value("musewave_worker_processes") == 1


def test_failed_and_cancelled_jobs_are_counted_where_they_end(start_server: StartServer) -> None:
    server = start_server(**FAST_RETRIES)
    before = scrape(server)
    with server.client() as client:
        with busy_worker(server, client):
            doomed = submit(client, track("cannot be written"))["id"]
            # A file where the job's output folder must go: the engine reports an invalid
            # request, which retrying cannot fix, so the job fails for good.
            (server.data_dir / "assets" / doomed).write_bytes(b"in the way")
            dropped = submit(client, track("cancelled while queued"))["id"]
            while_busy = scrape(server)
            assert cancel(client, dropped)["state"] == "cancelled"  # counted by the API
            after_cancel = scrape(server)
        # Leaving the block cancels the busy job mid-render: counted by its worker.
        with WsWatcher(server, doomed) as watcher:
            final = watcher.wait_for(is_terminal)
        after = scrape(server)

    assert final["type"] == "failed" and final["stage"] == "failed"
    assert while_busy.value("musewave_queue_active") == 1
    assert while_busy.value("musewave_queue_waiting") == 2
    assert moved(while_busy, after_cancel) == {"cancelled": 1}
    assert moved(before, after) == {
        "enqueued": 3,
        "cancelled": 2,
        "cancelled attempts": 1,  # the running one; the queued one never had an attempt
        "failed": 1,
        "failed attempts": 1,
    }
    assert after.value("musewave_queue_failed") == 1
    assert after.value("musewave_queue_active") == after.value("musewave_queue_waiting") == 0


def test_retries_and_the_dead_letter_are_counted(start_server: StartServer) -> None:
    # Every attempt fails (a test hook) and is retried after 0.2 s until none is left.
    server = start_server(MUSEWAVE_TEST_FAIL_ATTEMPTS="4", **FAST_RETRIES)
    before = scrape(server)
    with server.client() as client:
        assert run_to_end(server, client, track("doomed")) == "failed"
    after = wait_until(server, lambda s: s.value("musewave_queue_dead") == 1)

    assert moved(before, after) == {
        "enqueued": 1,
        "retried": 3,
        "retried attempts": 3,
        "dead": 1,
        "dead attempts": 1,
    }
    assert after.value("musewave_queue_waiting") == after.value("musewave_queue_delayed") == 0


def test_production_api_counts_submissions_and_leaves_outcomes_to_workers(
    start_server: StartServer,
) -> None:
    # BullMQ on Redis: a separate `musewave worker` renders and serves its own /metrics.
    worker_port = free_port()
    server = start_server(backend="bullmq", MUSEWAVE_METRICS_PORT=str(worker_port), **FAST_RETRIES)
    with server.client() as client:
        assert run_to_end(server, client, track("in production", priority="high")) == "completed"
    metrics = scrape(server)

    assert metrics.value("musewave_jobs_enqueued_total", priority="high") == 1
    assert metrics.value("musewave_queue_completed") == 1
    assert metrics.value("musewave_jobs_completed_total") == 0  # the worker's /metrics has it
    assert metrics.value("musewave_worker_processes") == 0  # no worker in the API's tree

    worker = scrape_url(f"http://127.0.0.1:{worker_port}/metrics")
    assert worker.total("musewave_jobs_enqueued_total") == 0
    assert worker.value("musewave_jobs_completed_total") == 1
    assert worker.value("musewave_job_duration_seconds_count", outcome="completed") == 1
    assert worker.value("musewave_engine_realtime_factor_count") == 1
    assert worker.value("musewave_worker_processes") == 1  # one process (concurrency 1)
