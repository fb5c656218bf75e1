"""Shared fixtures: real renders, made once per test session and shared read-only; the
private PostgreSQL and Redis servers that ``scripts/test-services`` starts.

Service tests get their server's URL from an environment variable (see
:func:`require_service_url`). Without it they are skipped locally, and fail in CI.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import structlog
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from musewave.config import Settings
from musewave.engine import GenerationRequest, GenerationResult, generate
from musewave.observability.logging import configure_logging

RenderFn = Callable[..., GenerationResult]
FreshDatabase = Callable[[str], str]

POSTGRES_URL_VAR = "MUSEWAVE_TEST_DATABASE_URL"
REDIS_URL_VAR = "MUSEWAVE_TEST_REDIS_URL"
SERVICE_VARS = (POSTGRES_URL_VAR, REDIS_URL_VAR)
DATABASE_BACKENDS = ("sqlite", "postgresql")


def in_ci() -> bool:
    """True when the environment variable ``CI`` is set (CI services set ``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_service_url(variable: str) -> str:
    """The URL of a test service from the environment variable ``variable``.

    Unset: the calling test is skipped, or failed when running in CI, where every service
    test must run. ``scripts/test-services`` (used by ``make test``) sets these variables.
    """
    url = os.environ.get(variable, "").strip()
    if url:
        return url
    message = (
        f"{variable} is not set: run the tests through scripts/test-services "
        "(e.g. scripts/test-services .venv/bin/pytest tests/jobs), as `make test` does"
    )
    if in_ci():
        pytest.fail(f"CI must run every service test. {message}", pytrace=False)
    pytest.skip(message)


def npm_installed(folder: Path) -> Path:
    """``folder`` (a ``package.json`` and its ``package-lock.json``) with its npm packages
    installed: ``npm ci`` when the lock is newer than the install. Without node and npm the
    calling test is skipped locally, and fails in CI."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        message = "this test needs `node` and `npm` on PATH (Node 20 or newer)"
        if in_ci():
            pytest.fail(f"CI must run the Node.js tests: {message}", pytrace=False)
        pytest.skip(message)
    lock = folder / "package-lock.json"
    installed = folder / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"npm ci failed in {folder}:\n{done.stderr}"
    return folder


def pytest_report_header(config: pytest.Config) -> list[str]:
    shown = [f"{name}={os.environ.get(name) or '(unset)'}" for name in SERVICE_VARS]
    return ["test services: " + ", ".join(shown) + (" [CI]" if in_ci() else "")]


@pytest.fixture(autouse=True)
def in_process_app_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps built in this process serve Starlette's TestClient (``Host: testserver``) and take
    requests far faster than people send them. Tests of those limits set their own."""
    monkeypatch.setenv("MUSEWAVE_ALLOWED_HOSTS", "localhost,127.0.0.1,::1,testserver")
    monkeypatch.setenv("MUSEWAVE_RATE_INGRESS", "100000/second")


@pytest.fixture(scope="session")
def render(tmp_path_factory: pytest.TempPathFactory) -> RenderFn:
    """``render(prompt=..., genres=[...], ...)`` → a cached GenerationResult for that request."""
    cache: dict[str, GenerationResult] = {}

    def _render(**fields: object) -> GenerationResult:
        defaults = {"prompt": "test track", "seed": 1, "stems": True, "midi": True}
        request = GenerationRequest.model_validate({**defaults, **fields})
        key = request.fingerprint()
        if key not in cache:
            out = Path(tmp_path_factory.mktemp("render"))
            cache[key] = generate(request, out)
        return cache[key]

    return _render


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The private test Redis (``MUSEWAVE_TEST_REDIS_URL``); tests own database 0 while they
    run and should flush what they write.
    """
    return require_service_url(REDIS_URL_VAR)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An autocommit engine on the test server's maintenance database, to create and drop
    per-test databases.
    """
    url = make_url(require_service_url(POSTGRES_URL_VAR))
    engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=2)
    yield engine
    engine.dispose()


@pytest.fixture
def fresh_database(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FreshDatabase]:
    """``fresh_database(backend)``: the URL of a new, empty database for this test only.

    ``"sqlite"``: a file under ``tmp_path`` (its directory not created yet). ``"postgresql"``:
    a new database on the test server (skipped or failed as :func:`require_service_url` says
    when there is none), dropped after the test even if connections are still open.
    """
    created: list[str] = []
    admin: Engine | None = None
    sqlite_files = 0

    def _fresh(backend: str) -> str:
        nonlocal admin, sqlite_files
        if backend == "sqlite":
            sqlite_files += 1
            return f"sqlite:///{(tmp_path / f'db{sqlite_files}' / 'musewave.db').as_posix()}"
        if backend != "postgresql":
            raise ValueError(f"unknown database backend {backend!r}")
        admin = request.getfixturevalue("postgres_admin")
        name = f"musewave_t_{uuid4().hex[:16]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        url = admin.url.set(database=name)
        return url.render_as_string(hide_password=False)

    yield _fresh
    for name in created:
        assert admin is not None
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
