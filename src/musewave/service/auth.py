"""Who is calling: the API key in ``Authorization: Bearer <secret>`` (WebSockets may send it
as the ``bearer, <secret>`` subprotocol pair instead, since browsers cannot set headers on a
WebSocket), checked against the key store, and the auth mode (``MUSEWAVE_AUTH``).

A secret never appears in a URL, a log line or an error. Verified secrets are remembered for
:data:`VERIFIED_TTL_S` (by their hash), so a revoked key stops working within that time.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from musewave.access import ANONYMOUS, Caller, KeyStore
from musewave.access.keys import secret_digest
from musewave.config import Settings

VERIFIED_TTL_S = 5.0
MAX_REMEMBERED = 10_000
WS_SUBPROTOCOL = "bearer"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="musewave"'}


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` serves this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Authenticator:
    """Turns a request's credentials into a :class:`Caller`, or refuses it (401)."""

    def __init__(self, keys: KeyStore, settings: Settings) -> None:
        self.keys = keys
        self.mode = settings.auth
        # auto on a loopback bind: the machine's user may call without a key.
        self.anonymous_allowed = self.mode == "off" or (
            self.mode == "auto" and is_loopback(settings.host)
        )
        self._verified: dict[str, tuple[float, Caller | None]] = {}

    async def caller(self, conn: HTTPConnection, secret: str | None) -> Caller:
        if self.mode == "off":
            return ANONYMOUS
        if secret is None:
            if self.anonymous_allowed:
                return ANONYMOUS
            raise HTTPException(401, "this server needs an API key", headers=_CHALLENGE)
        caller = await self._verify(secret)
        if caller is None:
            raise HTTPException(401, "the API key is not valid", headers=_CHALLENGE)
        return caller

    async def _verify(self, secret: str) -> Caller | None:
        digest = secret_digest(secret)
        now = time.monotonic()
        remembered = self._verified.get(digest)
        if remembered is not None and remembered[0] > now:
            return remembered[1]
        record = await run_in_threadpool(self.keys.authenticate, secret)
        caller = (
            None
            if record is None
            else Caller(owner=record.id, scope=record.scope, rate=record.rate, name=record.name)
        )
        if len(self._verified) >= MAX_REMEMBERED:  # bounded: wrong keys are remembered too
            self._verified.clear()
        self._verified[digest] = (now + VERIFIED_TTL_S, caller)
        return caller


def bearer_secret(conn: HTTPConnection) -> str | None:
    """The secret of an ``Authorization: Bearer`` header (400 for another scheme), or of a
    WebSocket's ``bearer, <secret>`` subprotocols, or None."""
    header = conn.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise HTTPException(401, "use Authorization: Bearer <API key>", headers=_CHALLENGE)
        return secret.strip()
    if conn.scope["type"] == "websocket":
        protocols = [p.strip() for p in conn.headers.get("sec-websocket-protocol", "").split(",")]
        if len(protocols) == 2 and protocols[0] == WS_SUBPROTOCOL:
            return protocols[1]
    return None


def _authenticator(conn: HTTPConnection) -> Authenticator:
    authenticator: Authenticator = conn.app.state.services.auth
    return authenticator


async def current_caller(request: Request) -> Caller:
    return await _authenticator(request).caller(request, bearer_secret(request))


async def websocket_caller(websocket: WebSocket) -> Caller:
    return await _authenticator(websocket).caller(websocket, bearer_secret(websocket))


async def admin_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if not caller.is_admin:
        raise HTTPException(403, "this needs an admin API key")
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]
AdminDep = Annotated[Caller, Depends(admin_caller)]
