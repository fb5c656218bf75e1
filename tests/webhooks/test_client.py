"""One delivery attempt: SSRF refusals without a connection, no redirects, pinned addresses."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpcore
import pytest

from musewave.webhooks.client import AttemptOutcome, post
from musewave.webhooks.destinations import AllowList, is_public
from tests.webhooks.support import DROP, receiving

HEADERS = {"webhook-id": "msg_test"}


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection the client opens (host, port), recorded before it is made."""
    made: list[tuple[str, int]] = []
    original = httpcore.AnyIOBackend.connect_tcp

    async def connect_tcp(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        made.append((host, port))
        return await original(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
    return made


NOTHING_ALLOWED = AllowList()


def send(url: str, allow: AllowList = NOTHING_ALLOWED, **options: Any) -> AttemptOutcome:
    options.setdefault("timeout_s", 5.0)
    return asyncio.run(post(url, b"{}", HEADERS, allow=allow, **options))


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://0.0.0.0/hooks",
        "http://192.168.1.1/hooks",
        "http://[fe80::1]/hooks",
        "http://224.0.0.1/hooks",
        # IPv6 forms a gateway turns into an inside IPv4 address: NAT64 of the metadata
        # address and of 10.0.0.1, IPv4-compatible loopback, 6to4 of loopback; site-local.
        "http://[64:ff9b::a9fe:a9fe]/hooks",
        "http://[64:ff9b::a00:1]/hooks",
        "http://[::127.0.0.1]/hooks",
        "http://[2002:7f00:1::]/hooks",
        "http://[fec0::1]/hooks",
    ],
)
def test_private_link_local_and_metadata_addresses_are_refused_unconnected(
    url: str, connects: list[tuple[str, int]]
) -> None:
    outcome = send(url)

    assert outcome.refused and outcome.status is None, outcome
    assert connects == []


def test_loopback_is_refused_without_a_connection(connects: list[tuple[str, int]]) -> None:
    with receiving() as receiver:
        outcome = send(receiver.url)

    assert outcome.refused, outcome
    assert connects == [] and receiver.connections == 0


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_ipv6_loopback_is_refused_without_a_connection(connects: list[tuple[str, int]]) -> None:
    with receiving("::1") as receiver:
        outcome = send(receiver.url)

    assert outcome.refused, outcome
    assert connects == [] and receiver.connections == 0


def test_a_name_resolving_to_loopback_is_refused(connects: list[tuple[str, int]]) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "127.0.0.1"]  # one inside address is enough to refuse

    with receiving() as receiver:
        named = send(f"http://hooks.example:{receiver.port}/", resolve=resolve)
        localhost = send(f"http://localhost:{receiver.port}/")  # the system resolver

    assert named.refused and localhost.refused, (named, localhost)
    assert connects == [] and receiver.connections == 0


def test_a_redirect_to_loopback_is_not_followed(connects: list[tuple[str, int]]) -> None:
    with receiving() as inner, receiving(script=[302]) as outer:
        outer.location = inner.url
        outcome = send(outer.url, allow=AllowList.parse(["127.0.0.1"]))

    assert outcome.status == 302 and not outcome.ok
    assert outcome.error == "redirects are not followed"
    assert inner.connections == 0 and len(connects) == 1


def test_an_allowed_name_is_resolved_once_and_reached_by_address_with_its_host_header(
    connects: list[tuple[str, int]],
) -> None:
    resolved: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["127.0.0.1"]

    with receiving() as receiver:
        outcome = send(
            f"http://hooks.example:{receiver.port}/hooks",
            allow=AllowList.parse(["127.0.0.0/8"]),
            resolve=resolve,
        )

    assert outcome.ok, outcome
    assert resolved == ["hooks.example"]
    assert connects == [("127.0.0.1", receiver.port)]
    assert receiver.received[0].headers["host"] == f"hooks.example:{receiver.port}"


def test_an_allowed_host_name_opens_its_addresses() -> None:
    with receiving() as receiver:
        outcome = send(
            f"http://localhost:{receiver.port}/hooks", allow=AllowList.parse(["LocalHost"])
        )

    assert outcome.ok, outcome


def test_a_dropped_connection_is_a_failed_attempt_without_status() -> None:
    with receiving(script=[DROP]) as receiver:
        outcome = send(receiver.url, allow=AllowList.parse(["127.0.0.1"]))

    assert outcome.status is None and not outcome.refused and outcome.error, outcome


def test_an_unanswered_request_times_out() -> None:
    with socket.socket() as listener:  # accepts (the backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        outcome = send(
            f"http://127.0.0.1:{port}/", allow=AllowList.parse(["127.0.0.1"]), timeout_s=0.3
        )

    assert outcome.status is None and "no answer" in (outcome.error or ""), outcome


def test_public_addresses_are_public() -> None:
    import ipaddress

    assert is_public(ipaddress.ip_address("93.184.215.14"))
    assert is_public(ipaddress.ip_address("2606:4700::1111"))
    assert not is_public(ipaddress.ip_address("100.64.0.1"))
    assert not is_public(ipaddress.ip_address("::ffff:10.0.0.1"))
    assert is_public(ipaddress.ip_address("64:ff9b::808:808"))  # NAT64 of a public address
    assert is_public(ipaddress.ip_address("2002:808:808::"))  # 6to4 of a public address


def test_a_host_no_client_can_use_is_a_failed_attempt_not_an_error() -> None:
    async def public(host: str, port: int) -> list[str]:
        return ["93.184.215.14"]

    # A label over 63 characters (the resolver refuses it) and a host that is not ASCII
    # (the HTTP client refuses it): each a failed attempt, recorded and retried like others.
    long_label = send(f"http://{'a' * 64}.example.com/hooks")
    not_ascii = send("http://exämple.com/hooks", resolve=public)

    for outcome in (long_label, not_ascii):
        assert outcome.status is None and not outcome.refused and outcome.error, outcome
