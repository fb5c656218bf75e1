"""API keys: shown once, stored as a hash, refused once revoked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from musewave.access import KeyStore, Scope
from musewave.db import make_engine, make_session_factory, read_transaction, upgrade
from musewave.db.models import ApiKey
from tests.conftest import DATABASE_BACKENDS, FreshDatabase


@pytest.fixture(params=DATABASE_BACKENDS)
def keys(request: pytest.FixtureRequest, fresh_database: FreshDatabase) -> Iterator[KeyStore]:
    url = fresh_database(request.param)
    upgrade(url)
    engine = make_engine(url)
    yield KeyStore(make_session_factory(engine))
    engine.dispose()


def test_a_created_key_authenticates_and_only_its_hash_is_stored(keys: KeyStore) -> None:
    record, secret = keys.create("ci bot", Scope.USER, rate="10/minute")

    assert secret.startswith(f"mw_{record.id}_") and len(secret) > 40
    assert keys.authenticate(secret) == record
    assert (record.scope, record.rate, record.active) == (Scope.USER, "10/minute", True)
    with read_transaction(keys.sessions) as session:
        stored = session.scalars(select(ApiKey.secret_sha256)).all()
    assert stored and all(secret not in value for value in stored)


def test_wrong_or_revoked_secrets_are_refused(keys: KeyStore) -> None:
    record, secret = keys.create("temporary", Scope.ADMIN)
    assert keys.authenticate(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert keys.authenticate("not even a key") is None
    assert keys.authenticate("mw_" + "x" * 500) is None

    revoked = keys.revoke(record.id)

    assert revoked is not None and not revoked.active
    assert keys.authenticate(secret) is None
    assert keys.revoke("nope") is None
    assert not keys.has_active_keys()


def test_keys_are_listed_without_secrets_and_need_a_name(keys: KeyStore) -> None:
    first, _ = keys.create("first", Scope.USER)
    second, _ = keys.create("second", Scope.ADMIN)
    assert [k.id for k in keys.list()] == [first.id, second.id]
    assert keys.has_active_keys()
    with pytest.raises(ValueError, match="name"):
        keys.create("   ", Scope.USER)
