"""Queue fixtures: a migrated SQLite file per test and a clock the test moves by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from musewave.db import make_engine, make_session_factory, upgrade
from musewave.jobs import LocalQueue, RetryPolicy
from tests.jobs.support import FakeClock, MakeQueue


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite:///{(tmp_path / 'queue.db').as_posix()}"
    upgrade(url)
    return url


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def make_queue(sessions: sessionmaker[Session], clock: FakeClock) -> MakeQueue:
    """``make_queue(policy=..., rate_limit_per_s=...)``: a queue on this test's database."""

    def _make(**kwargs: Any) -> LocalQueue:
        policy = kwargs.pop("policy", RetryPolicy())
        options: dict[str, Any] = {"rate_limit_per_s": 1000.0, "clock": clock, **kwargs}
        return LocalQueue(sessions, policy, **options)

    return _make


@pytest.fixture
def queue(make_queue: MakeQueue) -> LocalQueue:
    return make_queue()
