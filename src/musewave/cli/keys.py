"""``musewave keys``: API keys for the server on this database (create, list, revoke)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from musewave.access import OPERATOR, KeyStore, Scope
from musewave.access.audit import audit
from musewave.cli.console import err_console, fail, out_console
from musewave.config import Settings
from musewave.db import make_engine, make_session_factory, upgrade
from musewave.observability.logging import configure_logging

keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)


@contextmanager
def _keys() -> Iterator[KeyStore]:
    settings = Settings()
    upgrade(settings.resolved_database_url)
    configure_logging(settings)  # audit lines go to stderr, as the server's logs do
    engine = make_engine(settings.resolved_database_url)
    try:
        yield KeyStore(make_session_factory(engine))
    finally:
        engine.dispose()


def _checked_rate(rate: str | None) -> str | None:
    if rate is None:
        return None
    from limits import parse

    try:
        parse(rate)
    except ValueError:
        raise fail(f"--rate {rate!r} is not a rate; write it like 60/minute or 5/second") from None
    return rate


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    scope: Annotated[Scope, typer.Option(help="user: its own jobs; admin: everything.")] = (
        Scope.USER
    ),
    rate: Annotated[
        str | None, typer.Option(help="Its generation limit, e.g. 60/minute (default: server's).")
    ] = None,
) -> None:
    """Create a key and print its secret once (it is stored only as a hash)."""
    rate = _checked_rate(rate)
    with _keys() as keys:
        try:
            record, secret = keys.create(name, scope, rate=rate)
        except ValueError as error:
            raise fail(str(error)) from None
    audit("key created", OPERATOR, id=record.id, scope=record.scope.value)
    err_console.print(f"created {record.scope} key {record.id} ({record.name}); its secret:")
    out_console.print(secret, highlight=False, soft_wrap=True)
    err_console.print("store it now: it cannot be shown again")


@keys_app.command("list")
def list_keys() -> None:
    """Every key: id, name, scope, rate, created, revoked (never a secret)."""
    with _keys() as keys:
        records = keys.list()
    table = Table("id", "name", "scope", "rate", "created", "revoked")
    for record in records:
        table.add_row(
            record.id,
            record.name,
            record.scope.value,
            record.rate or "default",
            record.created_at.strftime("%Y-%m-%d %H:%M:%S"),
            record.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if record.revoked_at else "",
        )
    out_console.print(table)


@keys_app.command("revoke")
def revoke_key(key_id: str) -> None:
    """Revoke a key: servers refuse it within a few seconds."""
    with _keys() as keys:
        record = keys.revoke(key_id)
    if record is None:
        raise fail(f"no key {key_id!r}; list them with `musewave keys list`", code=1)
    audit("key revoked", OPERATOR, id=record.id)
    out_console.print(f"{record.id}: revoked")
