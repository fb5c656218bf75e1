"""One delivery attempt: an HTTP POST to a checked address, no redirects, one timeout.

The host is resolved and checked (:mod:`musewave.webhooks.destinations`), then the connection
is made to a checked address while the request keeps the URL's host in its ``Host`` header and
in TLS (SNI and certificate verification): the address is pinned, so nothing is resolved
twice. Redirects are not followed (a 3xx is a failed attempt), environment proxies are not
used, and the receiver's body is never read.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore

from musewave import __version__
from musewave.webhooks.destinations import (
    AllowList,
    RefusedDestination,
    Resolver,
    checked_addresses,
    system_resolver,
)

USER_AGENT = f"MuseWave-Webhooks/{__version__}"
_SSL_CONTEXT: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = ssl.create_default_context()
    return _SSL_CONTEXT


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt got: the receiver's ``status`` (None when there was no answer),
    ``error`` (why not, or why the status is a failure), ``refused`` when the destination was
    not allowed (nothing was sent)."""

    status: int | None
    error: str | None
    duration_ms: int
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver wants no more deliveries for this job."""
        return self.status == 410


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to ``address`` whatever host the request names (TLS still uses the name)."""

    def __init__(self, address: str) -> None:
        self._address = address
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_tcp(
            self._address, port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("webhooks never use unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow: AllowList,
    timeout_s: float,
    resolve: Resolver = system_resolver,
) -> AttemptOutcome:
    """POST ``body`` to ``url`` once, within ``timeout_s`` in all (resolution included)."""
    started = time.monotonic()

    def outcome(status: int | None, error: str | None, refused: bool = False) -> AttemptOutcome:
        return AttemptOutcome(status, error, round((time.monotonic() - started) * 1000), refused)

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return outcome(None, f"not an http(s) URL: {url}", refused=True)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(timeout_s):
            addresses = await checked_addresses(parts.hostname, port, allow, resolve)
            last_error = "no address"
            for address in addresses:
                try:
                    status = await _post_to(address, url, body, headers, timeout_s)
                except httpcore.ConnectError as error:  # try the host's next address
                    last_error = f"connect to {address} failed: {error or type(error).__name__}"
                    continue
                if 200 <= status < 300:
                    return outcome(status, None)
                if 300 <= status < 400:
                    return outcome(status, "redirects are not followed")
                return outcome(status, f"HTTP {status}")
            return outcome(None, last_error)
    except RefusedDestination as error:
        return outcome(None, str(error), refused=True)
    except TimeoutError:
        return outcome(None, f"no answer within {timeout_s:g} s")
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.TimeoutException) as e:
        return outcome(None, f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
    except OSError as error:  # the name does not resolve
        return outcome(None, f"{type(error).__name__}: {error}")
    except Exception as error:  # anything else is a failed attempt too, recorded and retried
        return outcome(None, f"{type(error).__name__}: {error}")


async def _post_to(
    address: str, url: str, body: bytes, headers: dict[str, str], timeout_s: float
) -> int:
    request_headers = {
        **headers,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    ssl_context = _ssl_context() if url.startswith("https") else None
    async with httpcore.AsyncConnectionPool(
        ssl_context=ssl_context, network_backend=_PinnedBackend(address), retries=0
    ) as pool:
        timeouts = {"connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}
        async with pool.stream(
            "POST",
            url,
            headers=list(request_headers.items()),
            content=body,
            extensions={"timeout": timeouts},
        ) as response:
            return response.status  # the body is not read: the connection just closes
