"""Unhandled errors inside a request: a JSON line with the stack trace, a 500 that still carries
the request ID, and the access line. In-process (a route that raises on purpose cannot be
added to a real server), with the same logging configuration and app the server uses."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient

from musewave.config import Settings
from musewave.observability.logging import configure_logging
from musewave.service.app import create_app


class RenderFailedOnPurpose(RuntimeError):
    pass


def fail_inside_the_route() -> None:
    raise RenderFailedOnPurpose("the mixer caught fire")


@contextlib.contextmanager
def logging_into_buffer(env: str) -> Iterator[io.StringIO]:
    """``env``'s logging into a buffer; the process's logging restored after."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(Settings(env=env, log_level="info"), stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        logging.captureWarnings(False)
        structlog.reset_defaults()


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Production logging into a buffer for this test."""
    with logging_into_buffer("production") as stream:
        yield stream


def lines_of(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(text) for text in stream.getvalue().splitlines()]


def test_an_exception_in_a_request_is_logged_as_json_with_its_stack_trace(
    tmp_path: Path, log_stream: io.StringIO
) -> None:
    app = create_app(Settings(data_dir=tmp_path, env="production"), start_workers=False)
    app.add_api_route("/boom", fail_inside_the_route, methods=["GET"])

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "boom-1"})

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "boom-1"
    lines = lines_of(log_stream)
    [error] = [line for line in lines if line["event"] == "unhandled error"]
    assert error["level"] == "error"
    assert error["request_id"] == "boom-1"
    assert (error["method"], error["path"]) == ("GET", "/boom")
    [exception] = error["exception"]
    assert exception["exc_type"] == "RenderFailedOnPurpose"
    assert exception["exc_value"] == "the mixer caught fire"
    frame_names = [frame["name"] for frame in exception["frames"]]
    assert frame_names[-1] == "fail_inside_the_route"
    assert all("locals" not in frame for frame in exception["frames"])  # no request data leaks
    [access] = [line for line in lines if line["logger"] == "musewave.access"]
    assert (access["status"], access["route"], access["request_id"]) == (500, "/boom", "boom-1")


def test_development_logs_a_plain_traceback_without_locals(tmp_path: Path) -> None:
    with logging_into_buffer("development") as stream:
        app = create_app(Settings(data_dir=tmp_path), start_workers=False)
        secret_body = "a-secret-the-route-held"

        def fail_holding_a_secret() -> None:
            held = secret_body  # a local that a traceback with locals would print
            raise RenderFailedOnPurpose(f"failed after {len(held)} characters")

        app.add_api_route("/boom-secret", fail_holding_a_secret, methods=["GET"])
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/boom-secret").status_code == 500
    text = stream.getvalue()
    assert "Traceback (most recent call last)" in text
    assert "RenderFailedOnPurpose: failed after 23 characters" in text
    assert secret_body not in text
    assert len(text.splitlines()) < 200  # a traceback, not thousands of lines of locals


def test_stdlib_records_share_the_pipeline_and_the_bound_request_id(
    log_stream: io.StringIO,
) -> None:
    with structlog.contextvars.bound_contextvars(request_id="stdlib-1"):
        try:
            fail_inside_the_route()
        except RenderFailedOnPurpose:
            logging.getLogger("musewave.cache").exception("cache write failed for %s", "key-1")

    [line] = lines_of(log_stream)
    assert line["event"] == "cache write failed for key-1"
    assert (line["level"], line["logger"], line["request_id"]) == (
        "error",
        "musewave.cache",
        "stdlib-1",
    )
    assert line["exception"][0]["exc_type"] == "RenderFailedOnPurpose"
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]


def test_levels_below_the_configured_one_are_dropped(log_stream: io.StringIO) -> None:
    logger = structlog.stdlib.get_logger("musewave.test")
    logger.debug("too detailed")
    logger.info("kept")
    logging.getLogger("uvicorn.error").debug("uvicorn detail")
    assert [line["event"] for line in lines_of(log_stream)] == ["kept"]
