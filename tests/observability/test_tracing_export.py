"""A real ``musewave serve`` with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set sends its spans, and its
workers' spans, by OTLP/HTTP to a collector (here a small loopback one that decodes them)."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.service.support import WsWatcher, is_terminal, launch, track

SPAN_TIMEOUT_S = 30.0


@dataclass
class ReceivedSpan:
    service: str
    span: Span


@dataclass
class Collector:
    """What an OTLP/HTTP trace endpoint received, as it arrives."""

    url: str
    spans: list[ReceivedSpan] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, request: ExportTraceServiceRequest) -> None:
        with self.changed:
            for resource_spans in request.resource_spans:
                attributes = {
                    a.key: a.value.string_value for a in resource_spans.resource.attributes
                }
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(ReceivedSpan(attributes.get("service.name", ""), span))
            self.changed.notify_all()

    def wait_for(
        self, predicate: Callable[[ReceivedSpan], bool], timeout_s: float = SPAN_TIMEOUT_S
    ) -> ReceivedSpan:
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while True:
                for received in self.spans:
                    if predicate(received):
                        return received
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    names = sorted({(r.service, r.span.name) for r in self.spans})
                    raise AssertionError(f"no matching span; received {names}")
                self.changed.wait(remaining)


@pytest.fixture
def collector() -> Iterator[Collector]:
    received = Collector(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers["Content-Length"]))
            if self.headers.get("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
            if self.path == "/v1/traces":
                request = ExportTraceServiceRequest()
                request.ParseFromString(data)
                received.add(request)
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    received.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield received
    server.shutdown()
    server.server_close()
    thread.join()


def test_server_and_worker_spans_reach_the_otlp_endpoint(
    tmp_path: Path, collector: Collector
) -> None:
    server = launch(
        tmp_path / "data",
        tmp_path / "server.log",
        {
            "MUSEWAVE_CONCURRENCY": "1",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # export within 0.1 s, not the default 5 s
            "OTEL_SERVICE_NAME": "",
        },
    )
    try:
        with server.client() as client:
            response = client.post(
                "/v1/generations",
                json=track("exported techno"),
                headers={"X-Request-ID": "otlp-1"},
            )
            assert response.status_code == 202, response.text
            job_id = response.json()["id"]
            with WsWatcher(server, job_id) as watcher:
                assert watcher.wait_for(is_terminal)["type"] == "completed"

        http = collector.wait_for(lambda r: r.span.name == "POST /v1/generations")
        enqueue = collector.wait_for(lambda r: r.span.name == "job.enqueue")
        run = collector.wait_for(lambda r: r.span.name == "job.run")
        validating = collector.wait_for(lambda r: r.span.name == "engine.validating")
    finally:
        server.stop()

    assert (http.service, enqueue.service, run.service) == (
        "musewave-api",
        "musewave-api",
        "musewave-worker",
    )
    assert enqueue.span.parent_span_id == http.span.span_id
    [link] = run.span.links
    assert (link.trace_id, link.span_id) == (enqueue.span.trace_id, enqueue.span.span_id)
    run_attributes = {a.key: a.value for a in run.span.attributes}
    assert run_attributes["job.id"].string_value == job_id
    assert run_attributes["request_id"].string_value == "otlp-1"
    assert validating.span.parent_span_id == run.span.span_id
    # Readiness probes (polled while the server started) are not traced.
    assert not any("/health" in r.span.name for r in collector.spans)
