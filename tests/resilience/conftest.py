"""Fixtures for the resilience tests: production (JSON) logging into a buffer, the test Redis."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import structlog

from musewave.config import Settings
from musewave.observability.logging import configure_logging
from musewave.resilience.breaker_state import KEY_PREFIX


class LogLines:
    """The JSON log lines written so far."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.stream.getvalue().splitlines()]

    def where(self, **fields: Any) -> list[dict[str, Any]]:
        return [line for line in self.all() if fields.items() <= line.items()]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """Production logging into a buffer for this test; the process's logging restored after."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(Settings(env="production", log_level="info"), stream=stream)
    yield LogLines(stream)
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    structlog.reset_defaults()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the test Redis; the breaker keys tests wrote are deleted after."""
    client = redis.Redis.from_url(redis_url)
    yield client
    keys = list(client.scan_iter(match=f"{KEY_PREFIX}*"))
    if keys:
        client.delete(*keys)
    client.close()
