"""Fixtures: real ``musewave serve`` processes on loopback, each with its own data directory.

``server`` is one shared server (concurrency 1, so tests can hold its worker busy) that every
test leaves idle; tests that need other settings, a restart or a kill start their own with
``start_server``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.service.support import (
    FINISHED_STATES,
    ServerProcess,
    WsWatcher,
    is_terminal,
    launch,
)

StartServer = Callable[..., ServerProcess]

SHARED_ENV = {"MUSEWAVE_CONCURRENCY": "1", "MUSEWAVE_RETRY_DELAYS_S": "0.2,0.2,0.2"}


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """``start_server(data_dir=None, **env)``: a server with ``MUSEWAVE_*`` overrides, stopped
    (SIGTERM, then SIGKILL) at teardown if the test left it running. Pass the same
    ``data_dir`` again to restart on the same database and files."""
    servers: list[ServerProcess] = []
    counter = itertools.count()

    def _start(data_dir: Path | None = None, **env: str) -> ServerProcess:
        n = next(counter)
        server = launch(data_dir or tmp_path / f"data-{n}", tmp_path / f"server-{n}.log", env)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("shared-server")
    server = launch(root / "data", root / "server.log", SHARED_ENV)
    yield server
    server.stop()


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
