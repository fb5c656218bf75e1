"""Logs of a real ``musewave serve``: JSON lines in production (the server's and its worker
processes', which share its output), request IDs from the HTTP request into the job's lines,
console lines in development."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.service.support import (
    ServerProcess,
    WsWatcher,
    is_terminal,
    job_row,
    launch,
    track,
)

LogLine = dict[str, Any]
LINE_TIMEOUT_S = 30.0
HEX_ID = re.compile(r"[0-9a-f]{32}")
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
ENGINE_STAGES = ("planning", "composing", "rendering", "mixing", "mastering", "encoding")


def json_lines(server: ServerProcess) -> list[LogLine]:
    """Every line the server and its workers wrote so far; each must be a JSON object."""
    lines: list[LogLine] = []
    for number, text in enumerate(server.log_path.read_text().splitlines(), 1):
        try:
            line = json.loads(text)
        except json.JSONDecodeError:
            pytest.fail(f"line {number} of the server's output is not JSON: {text!r}")
        assert isinstance(line, dict), text
        lines.append(line)
    return lines


def wait_for_line(
    server: ServerProcess, predicate: Callable[[LogLine], bool], timeout_s: float = LINE_TIMEOUT_S
) -> LogLine:
    """The first logged line matching ``predicate``, polling the log file with a deadline
    (a line written to a file has no event to await)."""
    deadline = time.monotonic() + timeout_s
    while True:
        for line in json_lines(server):
            if predicate(line):
                return line
        if time.monotonic() > deadline:
            raise AssertionError(f"no matching log line; last lines:\n{server.log_tail()}")
        time.sleep(0.05)


def access_line(server: ServerProcess, request_id: str) -> LogLine:
    return wait_for_line(
        server,
        lambda line: (
            line.get("logger") == "musewave.access" and line.get("request_id") == request_id
        ),
    )


@pytest.fixture(scope="module")
def production_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("production-logs")
    server = launch(
        root / "data",
        root / "server.log",
        {"MUSEWAVE_ENV": "production", "MUSEWAVE_LOG_LEVEL": "debug", "MUSEWAVE_CONCURRENCY": "1"},
    )
    yield server
    server.stop()


def run_job(server: ServerProcess, headers: dict[str, str] | None = None) -> tuple[str, str]:
    """Submit a cheap track and wait for it to finish; returns (job id, echoed request ID)."""
    with server.client() as client:
        response = client.post("/v1/generations", json=track("logged lofi"), headers=headers)
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        with WsWatcher(server, job_id) as watcher:
            assert watcher.wait_for(is_terminal)["type"] == "completed"
    return job_id, response.headers["X-Request-ID"]


def test_request_id_travels_from_the_request_into_every_worker_line_of_its_job(
    production_server: ServerProcess,
) -> None:
    request_id = f"client-{uuid.uuid4()}"
    job_id, echoed = run_job(production_server, {"X-Request-ID": request_id})
    assert echoed == request_id
    assert job_row(production_server, job_id)["request_id"] == request_id

    completed = wait_for_line(
        production_server,
        lambda line: line["event"] == "job completed" and line.get("job_id") == job_id,
    )
    lines = json_lines(production_server)
    started_at = next(
        i
        for i, line in enumerate(lines)
        if line["event"] == "job started" and line.get("job_id") == job_id
    )
    worker_pid = lines[started_at]["pid"]
    assert worker_pid != production_server.pid  # written by a worker process, into the same output
    finished_at = lines.index(completed)
    job_lines = [line for line in lines[started_at : finished_at + 1] if line["pid"] == worker_pid]
    for line in job_lines:  # the worker has one slot: all it wrote meanwhile was about this job
        assert (line.get("job_id"), line.get("request_id"), line.get("attempt")) == (
            job_id,
            request_id,
            1,
        ), line
        assert {"timestamp", "level", "event", "logger"} <= line.keys(), line
    stages = [line["stage"] for line in job_lines if line["event"] == "job stage"]
    assert stages[: len(ENGINE_STAGES)] == list(ENGINE_STAGES)
    assert completed["level"] == "info"
    assert completed["duration_ms"] > 0
    datetime_text = completed["timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", datetime_text)


def test_access_log_line_per_request_with_route_template(production_server: ServerProcess) -> None:
    request_id = f"access-{uuid.uuid4()}"
    missing_job = uuid.uuid4().hex
    with production_server.client() as client:
        response = client.get(f"/v1/jobs/{missing_job}", headers={"X-Request-ID": request_id})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == request_id  # echoed on errors too

    line = access_line(production_server, request_id)
    assert line["method"] == "GET"
    assert line["route"] == "/v1/jobs/{job_id}"  # the template, never the raw path
    assert line["path"] == f"/v1/jobs/{missing_job}"
    assert line["status"] == 404
    assert 0 < line["duration_ms"] < 10_000
    assert line["client"].startswith("127.0.0.1:")
    assert line["level"] == "info"


def test_a_request_without_an_id_gets_a_new_one_that_the_job_keeps(
    production_server: ServerProcess,
) -> None:
    job_id, echoed = run_job(production_server)
    assert HEX_ID.fullmatch(echoed)
    assert job_row(production_server, job_id)["request_id"] == echoed
    assert access_line(production_server, echoed)["route"] == "/v1/generations"
    completed = wait_for_line(
        production_server,
        lambda line: line["event"] == "job completed" and line.get("job_id") == job_id,
    )
    assert completed["request_id"] == echoed


@pytest.mark.parametrize(
    "bad_id",
    [b"x" * 129, b"caf\xe9-latin-1", b"tab\there", b""],
    ids=["too-long", "not-ascii", "control-char", "empty"],
)
def test_an_unacceptable_request_id_is_replaced(
    production_server: ServerProcess, bad_id: bytes
) -> None:
    with production_server.client() as client:
        response = client.get("/health/live", headers={b"X-Request-ID": bad_id})
    assert response.status_code == 200
    echoed = response.headers["X-Request-ID"]
    assert HEX_ID.fullmatch(echoed), echoed
    line = access_line(production_server, echoed)
    assert line["route"] == "/health/live"


def test_uvicorn_lines_are_json_too_and_its_own_access_log_is_off(
    production_server: ServerProcess,
) -> None:
    lines = json_lines(production_server)
    uvicorn_events = [line["event"] for line in lines if line["logger"].startswith("uvicorn")]
    assert "Application startup complete." in uvicorn_events
    assert not any(line["logger"] == "uvicorn.access" for line in lines)
    assert not any("color_message" in line for line in lines)


def console_server(tmp_path: Path, **env: str) -> ServerProcess:
    return launch(
        tmp_path / "data",
        tmp_path / "server.log",
        {"MUSEWAVE_ENV": "development", "MUSEWAVE_LOG_LEVEL": "info", **env},
    )


def console_access_line(server: ServerProcess, request_id: str) -> str:
    with server.client() as client:
        assert client.get("/health/live", headers={"X-Request-ID": request_id}).status_code == 200
    deadline = time.monotonic() + LINE_TIMEOUT_S
    while time.monotonic() < deadline:
        for text in server.log_path.read_text().splitlines():
            if request_id in text:
                return text
        time.sleep(0.05)
    raise AssertionError(f"no access line for {request_id}:\n{server.log_tail()}")


def test_development_mode_writes_colored_console_lines(tmp_path: Path) -> None:
    server = console_server(tmp_path, FORCE_COLOR="1", NO_COLOR="")
    try:
        line = console_access_line(server, "dev-colored-1")
    finally:
        server.stop()
    assert ANSI_ESCAPE.search(line), line
    plain = ANSI_ESCAPE.sub("", line)
    assert not plain.lstrip().startswith("{")
    assert re.search(r"\[info\s*\] request ", plain), plain
    assert "request_id=dev-colored-1" in plain
    assert "route=/health/live" in plain


def test_development_mode_without_a_terminal_writes_plain_console_lines(tmp_path: Path) -> None:
    server = console_server(tmp_path, NO_COLOR="1", FORCE_COLOR="")
    try:
        line = console_access_line(server, "dev-plain-1")
    finally:
        server.stop()
    assert not ANSI_ESCAPE.search(line), line
    assert re.search(r"\[info\s*\] request .*request_id=dev-plain-1", line), line
