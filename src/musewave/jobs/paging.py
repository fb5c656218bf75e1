"""Opaque cursors for newest-first job pages: a job's ``(created_at, id)``, base64-encoded."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from musewave.jobs.errors import InvalidCursor


def encode_cursor(created_at: datetime, job_id: str) -> str:
    raw = f"{created_at.isoformat()}|{job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The ``(created_at, id)`` a cursor names. Raises :class:`InvalidCursor` (a
    ``ValueError``) when it is malformed."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, job_id = raw.split("|", 1)
        created_at = datetime.fromisoformat(created)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidCursor("not a cursor this server gave out") from error
    if created_at.tzinfo is None or not job_id:
        raise InvalidCursor("not a cursor this server gave out")
    return created_at, job_id
