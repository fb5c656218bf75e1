"""Persistence: SQLAlchemy models, engine/session setup and packaged migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from musewave.db.models import Asset, Base, Job
from musewave.db.session import (
    make_engine,
    make_session_factory,
    read_transaction,
    transaction_lock,
    write_connection,
    write_transaction,
)

if TYPE_CHECKING:
    from musewave.db.migrate import current_revision, head_revision, is_ahead, upgrade

# The migration helpers load alembic (~11 MB, ~0.1 s) on first use: a render worker only
# reads and writes jobs, and never migrates.
_MIGRATE_NAMES = frozenset({"current_revision", "head_revision", "is_ahead", "upgrade"})

__all__ = [
    "Asset",
    "Base",
    "Job",
    "current_revision",
    "head_revision",
    "is_ahead",
    "make_engine",
    "make_session_factory",
    "read_transaction",
    "transaction_lock",
    "upgrade",
    "write_connection",
    "write_transaction",
]


if not TYPE_CHECKING:  # a module __getattr__ would let mypy accept any name from here

    def __getattr__(name: str) -> Any:
        if name in _MIGRATE_NAMES:
            from musewave.db import migrate

            return getattr(migrate, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
