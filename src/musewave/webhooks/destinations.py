"""Where a webhook may go (SSRF protection), decided after DNS resolution.

A webhook URL names a host; the addresses it resolves to at delivery time are checked, and the
connection is made to a checked address (never resolved a second time, so a DNS answer that
changes between check and connect, "DNS rebinding", cannot slip through). By default only
globally routable unicast addresses are allowed: loopback, private (RFC 1918, ULA), shared
(100.64/10), link-local (169.254/16 with the cloud metadata address 169.254.169.254, fe80::/10),
unspecified, reserved, documentation and multicast addresses are refused, also when written
as IPv4-mapped IPv6 (``::ffff:127.0.0.1``). ``MUSEWAVE_WEBHOOK_ALLOW_HOSTS`` opens specific
destinations: a host name (exactly as in the URL, any case) or a CIDR the address is in.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# host, port -> addresses (as text), in the order to try them
Resolver = Callable[[str, int], Awaitable[list[str]]]


class RefusedDestination(Exception):
    """The webhook's host resolves to an address it may not reach; nothing was sent."""


@dataclass(frozen=True)
class AllowList:
    """Destinations allowed although not public: host names and networks."""

    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """From ``MUSEWAVE_WEBHOOK_ALLOW_HOSTS`` entries; raises ``ValueError`` for an entry
        that is neither a host name nor an address or CIDR."""
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            label = entry.lower().rstrip(".")
            if not label or "/" in label or ":" in label or " " in label:
                raise ValueError(f"{entry!r} is neither a host name nor an address or CIDR")
            names.add(label)
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


# IPv6 prefixes that carry an IPv4 address in their low 32 bits: NAT64 (RFC 6052, 8215) and
# the deprecated IPv4-compatible form. A gateway turns them into that IPv4 address.
_EMBEDDING_IPV4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("::/96"),
)
_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")  # deprecated, still routed inside some sites
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a globally routable unicast address, also once an IPv6 form
    that carries an IPv4 address (mapped, NAT64, IPv4-compatible, 6to4) is unwrapped."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address in _SIX_TO_FOUR:
            return is_public(address.sixtofour or ipaddress.IPv4Address(0))
        if any(address in network for network in _EMBEDDING_IPV4):
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address in _SITE_LOCAL:
            return False
    return address.is_global and not address.is_multicast


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host`` (TCP), in its order."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    seen: list[str] = []
    for *_, sockaddr in infos:
        text = str(sockaddr[0])
        if text not in seen:
            seen.append(text)
    return seen


async def checked_addresses(
    host: str, port: int, allow: AllowList, resolve: Resolver = system_resolver
) -> list[str]:
    """The addresses to connect to for ``host``: every one it resolves to must be allowed
    (one refused address refuses the host: a name that also points inside is not trusted).
    Raises :class:`RefusedDestination`; ``OSError`` when the name does not resolve."""
    bare = host.strip("[]")
    try:
        literal: IPAddress | None = ipaddress.ip_address(bare)
    except ValueError:
        literal = None
    addresses = [bare] if literal is not None else await resolve(bare, port)
    if not addresses:
        raise OSError(f"{host} has no address")
    if literal is None and allow.allows_name(bare):
        return addresses
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone
        if not (is_public(address) or allow.allows_address(address)):
            raise RefusedDestination(
                f"{host} resolves to {address}, which webhooks may not reach "
                "(MUSEWAVE_WEBHOOK_ALLOW_HOSTS can allow it)"
            )
    return addresses
