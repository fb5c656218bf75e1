"""Checks ``serve`` and ``worker`` make before starting, so a bad setup ends with one line."""

from __future__ import annotations

from musewave.cli.console import fail
from musewave.config import Settings


def check_stores(settings: Settings, what: str) -> None:
    """Migrate the database and check the queue's services (in production mode: that the
    queue's Redis answers and will not evict jobs). Raises ``typer.Exit(2)`` with one line
    saying what to fix."""
    from musewave.db import upgrade

    try:
        upgrade(settings.resolved_database_url)
    except Exception as error:  # an unreachable database: one line, not a traceback
        raise fail(f"cannot start the {what}: {type(error).__name__}: {error}") from None
    from musewave.jobs import open_queue
    from musewave.redis_connections import EvictionPolicyError

    try:
        with open_queue(settings) as queue:
            queue.check()
    except EvictionPolicyError as error:
        raise fail(str(error)) from None
    except Exception as error:  # an unreachable Redis: one line, not a traceback
        raise fail(f"cannot start the {what}: {type(error).__name__}: {error}") from None
