"""The job store's fixtures (a migrated database per test, on SQLite and PostgreSQL, and a
clock moved by hand): webhook deliveries live on the same database, keyed to its jobs."""

from tests.jobs.conftest import clock, database_url, make_store, sessions, store

__all__ = ["clock", "database_url", "make_store", "sessions", "store"]
