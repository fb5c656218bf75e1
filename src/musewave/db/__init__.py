"""Persistence: SQLAlchemy models, engine/session setup and packaged migrations."""

from musewave.db.migrate import current_revision, head_revision, is_ahead, upgrade
from musewave.db.models import Asset, Base, Job
from musewave.db.session import (
    make_engine,
    make_session_factory,
    read_transaction,
    transaction_lock,
    write_connection,
    write_transaction,
)

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
