"""API keys: made by an operator (``musewave keys create``), shown once, stored as a hash.

A key's secret is ``mw_<id>_<43 random URL-safe characters>`` (256 bits). Only its SHA-256 is
stored; a secret is looked up by that hash and compared in constant time. The secret is long
and random, so a plain SHA-256 (not a slow password hash) is enough: there is nothing to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from musewave.db.models import ApiKey
from musewave.db.session import read_transaction, write_transaction

SECRET_PREFIX = "mw_"
MAX_NAME_CHARS = 100


class Scope(StrEnum):
    """``user``: submits and reads its own jobs. ``admin``: every job, and the admin routes."""

    USER = "user"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A key as operators see it: never its secret."""

    id: str
    name: str
    scope: Scope
    rate: str | None  # its generation rate limit (e.g. "60/minute"), None for the default
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who makes a request. ``owner`` names the jobs it makes: the key's id, or ``""`` for
    anonymous use (allowed only where the auth mode lets it)."""

    owner: str
    scope: Scope
    rate: str | None = None
    name: str = "anonymous"  # for audit lines: the key's name, or who acts without one

    @property
    def is_admin(self) -> bool:
        return self.scope is Scope.ADMIN

    @property
    def anonymous(self) -> bool:
        return self.owner == ""


# Anonymous use of a loopback server: the machine's own user, who may do everything.
ANONYMOUS = Caller(owner="", scope=Scope.ADMIN)
# The operator at the shell (`musewave jobs ...`), who has the database itself.
OPERATOR = Caller(owner="", scope=Scope.ADMIN, name="operator (CLI)")


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _record(row: ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        name=row.name,
        scope=Scope(row.scope),
        rate=row.rate,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class KeyStore:
    """The ``api_keys`` table. Methods are short transactions: call them off the event loop."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self._clock = clock

    def create(
        self, name: str, scope: Scope, *, rate: str | None = None
    ) -> tuple[ApiKeyRecord, str]:
        """A new key and its secret (the only time the secret exists outside the caller)."""
        name = name.strip()
        if not name or len(name) > MAX_NAME_CHARS:
            raise ValueError(f"a key needs a name of 1 to {MAX_NAME_CHARS} characters")
        key_id = secrets.token_hex(8)
        secret = f"{SECRET_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        row = ApiKey(
            id=key_id,
            name=name,
            scope=scope,
            secret_sha256=secret_digest(secret),
            rate=rate,
            created_at=self._clock(),
            revoked_at=None,
        )
        with write_transaction(self.sessions) as session:
            session.add(row)
            session.flush()
            return _record(row), secret

    def list(self) -> list[ApiKeyRecord]:
        with read_transaction(self.sessions) as session:
            rows = session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))
            return [_record(row) for row in rows]

    def revoke(self, key_id: str) -> ApiKeyRecord | None:
        """Revoke a key (from then on its secret is refused); None for an unknown id."""
        with write_transaction(self.sessions) as session:
            session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
            row = session.get(ApiKey, key_id, populate_existing=True)
            return None if row is None else _record(row)

    def has_active_keys(self) -> bool:
        with read_transaction(self.sessions) as session:
            found = session.scalar(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1))
            return found is not None

    def authenticate(self, secret: str) -> ApiKeyRecord | None:
        """The active key whose secret this is, or None."""
        if not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
            return None
        digest = secret_digest(secret)
        with read_transaction(self.sessions) as session:
            row = session.scalar(select(ApiKey).where(ApiKey.secret_sha256 == digest))
            if row is None or not hmac.compare_digest(row.secret_sha256, digest):
                return None
            record = _record(row)
        return record if record.active else None
