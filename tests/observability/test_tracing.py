"""Tracing in-process, into OpenTelemetry's in-memory exporter: the HTTP request that queues a
job, its ``job.enqueue`` span, the worker's ``job.run`` span linked to it, one span per engine
stage; and nothing at all when tracing is off."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracer, SpanKind, StatusCode

from musewave.config import Settings
from musewave.jobs import JobRecord, JobState
from musewave.jobs.events import JobEvent
from musewave.jobs.local_scheduler import LocalScheduler
from musewave.jobs.runner import JobRunner
from musewave.observability import tracing
from musewave.service.app import create_app

WORKER_ID = "test-host:1:0"
LEASE_MS = 60_000
STAGES = ("planning", "composing", "rendering", "mixing", "mastering", "encoding", "validating")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test, every span kept in memory; off again afterwards."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    yield exporter
    tracing.use_tracer_provider(None)
    provider.shutdown()


def body(**fields: Any) -> dict[str, Any]:
    return {"prompt": "traced synthwave", "duration_s": 30, "formats": ["wav"], "seed": 5, **fields}


def enqueue_and_run(
    tmp_path: Path, *, request_id: str, fail_attempts: int = 0
) -> tuple[JobRecord, JobState]:
    """POST a job through the app (no worker processes), then run it in-process as a worker
    would; returns the job as enqueued and the runner's outcome."""
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings, start_workers=False)
    events: list[JobEvent] = []
    with TestClient(app) as client:
        response = client.post("/v1/generations", json=body(), headers={"X-Request-ID": request_id})
        assert response.status_code == 202, response.text
        services = app.state.services
        job = LocalScheduler(services.queue.store).claim(WORKER_ID, LEASE_MS)
        assert job is not None and job.id == response.json()["id"]
        runner = JobRunner(
            services.queue.store,
            services.jobs.storage,
            WORKER_ID,
            lease_ms=LEASE_MS,
            emit=events.append,
            fail_attempts=fail_attempts,
        )
        return job, runner.run(job)


def named(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    [span] = [s for s in spans if s.name == name]
    return span


def test_job_attempt_links_to_the_request_that_enqueued_it_with_a_span_per_stage(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    job, outcome = enqueue_and_run(tmp_path, request_id="trace-req-1")
    assert outcome is JobState.COMPLETED
    finished = spans.get_finished_spans()

    http = named(finished, "POST /v1/generations")
    assert http.kind is SpanKind.SERVER
    assert http.attributes is not None and http.attributes["http.route"] == "/v1/generations"

    enqueue = named(finished, "job.enqueue")
    assert enqueue.kind is SpanKind.PRODUCER
    assert enqueue.parent is not None and enqueue.parent.span_id == http.context.span_id
    assert enqueue.context.trace_id == http.context.trace_id
    assert dict(enqueue.attributes or {}) == {
        "request_id": "trace-req-1",
        "job.id": job.id,
        "job.created": True,
    }
    assert job.trace_context is not None and "traceparent" in job.trace_context

    run = named(finished, "job.run")
    assert run.kind is SpanKind.CONSUMER
    assert run.parent is None  # a trace of its own: the job outlives the request
    assert run.context.trace_id != http.context.trace_id
    [link] = run.links
    assert (link.context.trace_id, link.context.span_id) == (
        enqueue.context.trace_id,
        enqueue.context.span_id,
    )
    assert dict(run.attributes or {}) == {
        "job.id": job.id,
        "job.attempt": 1,
        "worker.id": WORKER_ID,
        "request_id": "trace-req-1",
        "job.outcome": "completed",
    }
    assert run.status.status_code is StatusCode.UNSET

    stage_spans = sorted(
        (s for s in finished if s.name.startswith("engine.")), key=lambda s: s.start_time or 0
    )
    assert [s.name for s in stage_spans] == [f"engine.{stage}" for stage in STAGES]
    for stage, span in zip(STAGES, stage_spans, strict=True):
        assert span.parent is not None and span.parent.span_id == run.context.span_id
        assert dict(span.attributes or {}) == {"stage": stage, "job.id": job.id}
    for earlier, later in itertools.pairwise(stage_spans):
        assert earlier.end_time is not None and later.start_time is not None
        assert earlier.end_time <= later.start_time  # one stage at a time
    assert run.start_time is not None and run.end_time is not None
    assert run.start_time <= (stage_spans[0].start_time or 0)
    assert (stage_spans[-1].end_time or 0) <= run.end_time


def test_a_failed_attempt_marks_its_span_as_an_error_with_the_exception(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    _, outcome = enqueue_and_run(tmp_path, request_id="trace-req-2", fail_attempts=1)
    assert outcome is JobState.QUEUED  # retried later
    run = named(spans.get_finished_spans(), "job.run")
    assert run.status.status_code is StatusCode.ERROR
    assert run.status.description == "InjectedFault: injected failure on attempt 1"
    [exception] = [event for event in run.events if event.name == "exception"]
    assert exception.attributes is not None
    assert str(exception.attributes["exception.type"]).endswith("InjectedFault")
    assert run.attributes is not None and run.attributes["job.outcome"] == "queued"
    assert not any(s.name.startswith("engine.") for s in spans.get_finished_spans())


def test_tracing_off_uses_the_no_op_tracer_and_jobs_carry_no_context(tmp_path: Path) -> None:
    assert not tracing.tracing_enabled()
    assert isinstance(tracing.tracer(), NoOpTracer)

    job, outcome = enqueue_and_run(tmp_path, request_id="untraced", fail_attempts=1)

    assert outcome is JobState.QUEUED
    assert job.trace_context is None
    with tracing.tracer().start_as_current_span("anything") as span:
        assert not span.is_recording()
        assert tracing.current_trace_context() is None


def test_configure_tracing_stays_off_without_an_endpoint() -> None:
    assert tracing.configure_tracing("musewave-test", environ={}) is False
    assert not tracing.tracing_enabled()
