"""Fixtures: real ``musewave serve`` processes on loopback, each with its own data directory.

``server`` is one shared server (concurrency 1, so tests can hold its worker busy) that every
test leaves idle; tests that need other settings, a restart or a kill start their own with
``start_server``.

The job-semantics suite runs on both backends: ``server`` is parametrized as ``local`` (the
embedded default: SQLite and the server's own worker processes) and ``bullmq`` (production:
PostgreSQL, BullMQ on Redis, and a separate ``musewave worker``), and ``start_server`` takes
``backend=``. Each BullMQ server gets its own database and queue name.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.conftest import FreshDatabase, require_service_url
from tests.service.support import (
    FINISHED_STATES,
    ServerProcess,
    WsWatcher,
    is_terminal,
    launch,
)

StartServer = Callable[..., ServerProcess]

SHARED_ENV = {
    "MUSEWAVE_CONCURRENCY": "1",
    "MUSEWAVE_RETRY_DELAYS_S": "0.2,0.2,0.2",
    # tests/service/test_webhooks.py: receivers on loopback, reached by the name "localhost"
    # (so that the address 127.0.0.1 itself stays refused), and quick retries.
    "MUSEWAVE_WEBHOOK_ALLOW_HOSTS": "localhost",
    "MUSEWAVE_WEBHOOK_RETRY_DELAYS_S": "0.2,0.2,0.2,0.2",
}


BACKENDS = ("local", "bullmq")


def production_env(database_url: str) -> dict[str, str]:
    """Settings for a production-mode server: BullMQ on the test Redis (a queue of its own)
    and ``database_url`` (a PostgreSQL database of its own)."""
    return {
        "MUSEWAVE_REDIS_URL": require_service_url("MUSEWAVE_TEST_REDIS_URL"),
        "MUSEWAVE_QUEUE_NAME": f"test-{uuid.uuid4().hex[:12]}",
        "MUSEWAVE_DATABASE_URL": database_url,
    }


@pytest.fixture
def start_server(tmp_path: Path, fresh_database: FreshDatabase) -> Iterator[StartServer]:
    """``start_server(data_dir=None, backend="local", **env)``: a server with ``MUSEWAVE_*``
    overrides, stopped (SIGTERM, then SIGKILL) at teardown if the test left it running. Pass
    the same ``data_dir`` again to restart on the same database and files (local backend)."""
    servers: list[ServerProcess] = []
    counter = itertools.count()

    def _start(data_dir: Path | None = None, backend: str = "local", **env: str) -> ServerProcess:
        n = next(counter)
        if backend == "bullmq":
            env = {**production_env(fresh_database("postgresql")), **env}
        server = launch(data_dir or tmp_path / f"data-{n}", tmp_path / f"server-{n}.log", env)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session", params=BACKENDS)
def shared_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp(f"shared-server-{request.param}")
    env = dict(SHARED_ENV)
    database: str | None = None
    admin: Engine | None = None
    if request.param == "bullmq":
        admin = request.getfixturevalue("postgres_admin")
        database = f"musewave_shared_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{database}"'))
        env.update(production_env(admin.url.set(database=database).render_as_string(False)))
    server = launch(root / "data", root / "server.log", env)
    yield server
    server.stop()
    if admin is not None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


@pytest.fixture
def server(shared_server: ServerProcess) -> Iterator[ServerProcess]:
    """The shared server, idle; whatever the test leaves unfinished is cancelled afterwards."""
    assert shared_server.running(), shared_server.log_tail()
    yield shared_server
    if not shared_server.running():
        return
    with shared_server.client() as client:
        jobs = client.get("/v1/jobs", params={"limit": 200}).json()["jobs"]
        for job in jobs:
            if job["state"] in FINISHED_STATES:
                continue
            with WsWatcher(shared_server, job["id"]) as watcher:
                client.post(f"/v1/jobs/{job['id']}/cancel")  # 409 if it just finished
                watcher.wait_for(is_terminal)
