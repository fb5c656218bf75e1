"""Queue fixtures: a migrated database per test, on SQLite and on PostgreSQL (every test that
uses the database runs once per backend), and a clock the test moves by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from musewave.db import make_engine, make_session_factory, upgrade
from musewave.jobs import LocalQueue, RetryPolicy
from tests.conftest import DATABASE_BACKENDS, FreshDatabase
from tests.jobs.support import FakeClock, MakeQueue


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, fresh_database: FreshDatabase) -> str:
    """A new database migrated to head: a SQLite file, or a database on the test PostgreSQL."""
    url = fresh_database(request.param)
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
