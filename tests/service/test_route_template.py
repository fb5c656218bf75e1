"""One route template per request, shared by the access log line and the HTTP metrics: the
route as declared (``/v1/jobs/{job_id}/assets/{name:path}``), ``unmatched`` when no route
matched, never the raw path. In-process (the label each middleware hands over, paired by
request ID), then on a real server (its JSON access lines against its ``/metrics``)."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from musewave.config import Settings
from musewave.observability import metrics
from musewave.observability.logging import configure_logging
from musewave.service.app import create_app
from musewave.service.route_template import UNMATCHED_ROUTE, route_template
from musewave.service.routes import jobs as job_routes
from tests.observability.conftest import scrape
from tests.service.conftest import StartServer
from tests.service.support import ServerProcess

JOB_ROUTE = "/v1/jobs/{job_id}"
ASSET_ROUTE = "/v1/jobs/{job_id}/assets/{name:path}"
LINE_TIMEOUT_S = 30.0


def requests_to_make(job_id: str) -> list[tuple[str, str, str]]:
    """(method, path, the route template both must name) for one request per case."""
    return [
        ("GET", f"/v1/jobs/{job_id}", JOB_ROUTE),
        ("GET", f"/v1/jobs/{job_id}/assets/stems/bass.wav", ASSET_ROUTE),  # a name with a /
        ("GET", f"/v1/jobs/{job_id}/assets/mix.wav", ASSET_ROUTE),
        ("GET", f"/no/such/{job_id}", UNMATCHED_ROUTE),
        ("GET", "/health/live", "/health/live"),
        ("POST", "/v1/generations", "/v1/generations"),  # an empty body: 422
    ]


def test_unmatched_without_a_route_and_the_declared_path_with_one() -> None:
    assert route_template({"type": "http", "path": "/x"}) == UNMATCHED_ROUTE
    asset_routes = [
        route
        for route in job_routes.router.routes
        if isinstance(route, APIRoute) and route.path == ASSET_ROUTE
    ]
    assert asset_routes  # the download route(s), declared with their prefix
    for route in asset_routes:
        assert route_template({"type": "http", "route": route}) == ASSET_ROUTE


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Production logging at INFO into a buffer; the process's logging restored after."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(Settings(env="production", log_level="info"), stream=stream)
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    logging.captureWarnings(False)
    structlog.reset_defaults()


def test_access_log_and_metrics_name_the_same_template_in_process(
    tmp_path: Path, log_stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels: dict[str, tuple[str, str | None, int]] = {}  # request ID → (method, route, status)

    def record(method: str, route: str | None, status: int, duration_ms: float) -> None:
        # Called inside the request's context: its request ID is bound.
        request_id = structlog.contextvars.get_contextvars()["request_id"]
        labels[request_id] = (method, route, status)

    monkeypatch.setattr(metrics, "http_request", record)
    app = create_app(Settings(data_dir=tmp_path, env="production"), start_workers=False)
    cases = requests_to_make(uuid.uuid4().hex)
    with TestClient(app, raise_server_exceptions=False) as client:
        for n, (method, path, _) in enumerate(cases):
            client.request(method, path, headers={"X-Request-ID": f"case-{n}"}, json=None)

    access = {
        line["request_id"]: line
        for line in (json.loads(text) for text in log_stream.getvalue().splitlines())
        if line.get("logger") == "musewave.access"
    }
    for n, (method, path, template) in enumerate(cases):
        line = access[f"case-{n}"]
        assert (line["method"], line["path"], line["route"]) == (method, path, template)
        assert labels[f"case-{n}"] == (method, template, line["status"]), path


def access_lines(server: ServerProcess, request_ids: set[str]) -> dict[str, dict[str, Any]]:
    """The server's access lines for ``request_ids``, polled with a deadline (each is written
    just after its response)."""
    deadline = time.monotonic() + LINE_TIMEOUT_S
    while True:
        found: dict[str, dict[str, Any]] = {}
        for text in server.log_path.read_text().splitlines():
            if not text.startswith("{"):
                continue
            line = json.loads(text)
            if line.get("logger") == "musewave.access" and line.get("request_id") in request_ids:
                found[line["request_id"]] = line
        if found.keys() == request_ids:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"missing access lines; log tail:\n{server.log_tail()}")
        time.sleep(0.05)


def test_access_log_and_metrics_name_the_same_template_on_a_real_server(
    start_server: StartServer,
) -> None:
    server = start_server(MUSEWAVE_ENV="production", MUSEWAVE_LOG_LEVEL="info")
    cases = requests_to_make(uuid.uuid4().hex)
    with server.client() as client:
        statuses = [
            client.request(method, path, headers={"X-Request-ID": f"real-{n}"}).status_code
            for n, (method, path, _) in enumerate(cases)
        ]
    lines = access_lines(server, {f"real-{n}" for n in range(len(cases))})
    counted = scrape(server)

    for n, (method, path, template) in enumerate(cases):
        line = lines[f"real-{n}"]
        assert (line["method"], line["path"], line["route"]) == (method, path, template)
        assert line["status"] == statuses[n], path
    # Each (method, route, status) the access log named was counted under the same labels.
    expected: dict[tuple[str, str, str], int] = {}
    for n, (method, _, template) in enumerate(cases):
        key = (method, template, str(statuses[n]))
        expected[key] = expected.get(key, 0) + 1
    for (method, template, status), count in expected.items():
        assert (
            counted.value(
                "musewave_http_requests_total", method=method, route=template, status=status
            )
            == count
        ), (method, template, status)
