"""Queue fixtures: a migrated database per test, on SQLite and on PostgreSQL (every test that
uses the database runs once per backend), and a clock the test moves by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from musewave.db import make_engine, make_session_factory, upgrade
from musewave.jobs import JobStore, RetryPolicy
from musewave.jobs.local_scheduler import LocalScheduler
from tests.conftest import DATABASE_BACKENDS, FreshDatabase
from tests.jobs.support import FakeClock, MakeStore


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
def make_store(sessions: sessionmaker[Session], clock: FakeClock) -> MakeStore:
    """``make_store(policy=..., clock=...)``: a job store on this test's database."""

    def _make(**kwargs: Any) -> JobStore:
        policy = kwargs.pop("policy", RetryPolicy())
        return JobStore(sessions, policy, **{"clock": clock, **kwargs})

    return _make


@pytest.fixture
def store(make_store: MakeStore) -> JobStore:
    return make_store()


@pytest.fixture
def scheduler(store: JobStore) -> LocalScheduler:
    """The local scheduler on ``store``, with a start rate no test reaches by accident."""
    return LocalScheduler(store, rate_limit_per_s=1000.0)
