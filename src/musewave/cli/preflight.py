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


def check_access(settings: Settings) -> None:
    """Refuse (one line, exit 2) to serve other machines, or to require keys, while no API
    key exists: nobody could use the server, or anyone could."""
    if settings.auth == "off":
        return
    from musewave.access import KeyStore
    from musewave.db import make_engine, make_session_factory
    from musewave.service.auth import is_loopback

    if settings.auth == "auto" and is_loopback(settings.host):
        return
    engine = make_engine(settings.resolved_database_url)
    try:
        has_keys = KeyStore(make_session_factory(engine)).has_active_keys()
    finally:
        engine.dispose()
    if not has_keys:
        why = (
            "MUSEWAVE_AUTH=required"
            if settings.auth == "required"
            else f"binding {settings.host} serves other machines"
        )
        raise fail(
            f"{why}, but no API key exists: create one with "
            "`musewave keys create --name admin --scope admin` (or set MUSEWAVE_AUTH=off to let "
            "anyone in)"
        )
