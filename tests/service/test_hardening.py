"""The API's edge on a real server: slow and oversized requests, Host names, cross-site
requests, CORS, security headers, the ingress ceiling, and each hostile input the security
issue found on the old main, as a regression test."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.service.support import ServerProcess, launch, track

CLIENT_TIMEOUT_S = 1.0
STUDIO = "https://studio.example"
EVIL = "https://evil.example"
READ_LIMIT_S = 30.0  # generous: the server's own timeout is what is being tested


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("edge")
    env = {
        "MUSEWAVE_CLIENT_TIMEOUT_S": str(CLIENT_TIMEOUT_S),
        "MUSEWAVE_CORS_ORIGINS": STUDIO,
        "MUSEWAVE_RATE_INGRESS": "100000/second",
    }
    server = launch(root / "data", root / "server.log", env)
    yield server
    server.stop()


class RawAnswer:
    """What a server sent back on a raw connection, up to its closing it."""

    def __init__(self, data: bytes, closed: bool) -> None:
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1]) if lines[0] else 0
        self.headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }
        self.closed = closed

    def problem(self) -> dict[str, Any]:
        assert self.headers.get("content-type") == "application/problem+json", self.headers
        body: dict[str, Any] = json.loads(self.body)
        assert body["status"] == self.status
        return body


def raw_exchange(server: ServerProcess, *parts: bytes) -> RawAnswer:
    """Send ``parts`` (stopping early if the server closes), then read until it closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=READ_LIMIT_S) as sock:
        for part in parts:
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return RawAnswer(received, closed=True)
            except TimeoutError:
                return RawAnswer(received, closed=False)
            if not chunk:
                return RawAnswer(received, closed=True)
            received += chunk


def head(server: ServerProcess, method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# --- slow and oversized requests ---------------------------------------------------------


def test_a_client_that_never_finishes_its_headers_gets_408_and_is_closed(
    edge: ServerProcess,
) -> None:
    partial = f"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1:{edge.port}\r\nX-Slow: a".encode()
    answer = raw_exchange(edge, partial)
    assert answer.status == 408 and answer.closed
    assert "headers" in answer.problem()["detail"]


def test_a_silent_connection_is_closed(edge: ServerProcess) -> None:
    answer = raw_exchange(edge)
    assert answer.status == 408 and answer.closed


def test_a_body_that_never_arrives_gets_408(edge: ServerProcess) -> None:
    start = head(edge, "POST", "/v1/generations", "Content-Type: application/json")
    start = start.replace(b"\r\n\r\n", b"\r\nContent-Length: 100\r\n\r\n", 1)
    answer = raw_exchange(edge, start, b'{"prompt": ')
    assert answer.status == 408 and answer.closed
    assert "body" in answer.problem()["detail"]


def test_a_huge_header_gets_431_and_is_closed(edge: ServerProcess) -> None:
    answer = raw_exchange(edge, head(edge, "GET", "/health/live", "X-Big: " + "a" * 20_000))
    assert answer.status == 431 and answer.closed
    assert "16 KB" in answer.problem()["detail"]


def test_a_declared_huge_body_is_refused_before_it_is_sent(edge: ServerProcess) -> None:
    start = head(edge, "POST", "/v1/generations", "Content-Type: application/json")
    start = start.replace(b"\r\n\r\n", b"\r\nContent-Length: 104857600\r\n\r\n", 1)
    answer = raw_exchange(edge, start)  # not one byte of the body
    assert answer.status == 413 and answer.closed
    assert "64 KB" in answer.problem()["detail"]


def test_a_chunked_body_is_cut_off_at_the_limit(edge: ServerProcess) -> None:
    start = head(
        edge,
        "POST",
        "/v1/generations",
        "Content-Type: application/json",
        "Transfer-Encoding: chunked",
    )
    chunk = b"a" * 16384
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 640  # 10 MB, if it were all read
    answer = raw_exchange(edge, start, *chunks)
    assert answer.status == 413 and answer.closed
    with edge.client() as client:  # and the server is fine
        assert client.get("/health/live").status_code == 200


def test_a_body_on_any_method_or_route_is_bounded(edge: ServerProcess) -> None:
    # A GET declaring a huge body, and a chunked body sent to a route that never reads one.
    declared = head(edge, "GET", "/health/live", "Content-Length: 104857600")
    assert raw_exchange(edge, declared).status == 413
    start = head(edge, "POST", "/v1/jobs/nope/cancel", "Transfer-Encoding: chunked")
    chunk = b"a" * 16384
    answer = raw_exchange(edge, start, *[b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 64)
    assert answer.closed and answer.status in (404, 413)  # answered, then cut off at 64 KB
    slow = raw_exchange(edge, start, b"5\r\nhello\r\n")  # and never the last chunk
    assert slow.closed and slow.status in (404, 408)
    for raw in (answer, slow):  # one answer each: a refusal after a 404 only closes
        assert b"HTTP/1.1 " not in raw.body


def test_bytes_after_an_answer_are_timed_like_a_request_head(edge: ServerProcess) -> None:
    # A blank line begins no request, but stops uvicorn's keep-alive timer.
    answer = raw_exchange(edge, head(edge, "GET", "/health/live"), b"\r\n")
    assert answer.closed
    assert answer.status == 200
    assert b"408" in answer.body  # the second answer, after the first one's body


def test_a_pipelined_head_is_not_timed_out_while_the_answer_before_it_is_made(
    edge: ServerProcess,
) -> None:
    # The first request takes up to 2 s (Prefer: wait), over the 1 s head timeout; the
    # second request's head arrives, half of it, while it waits.
    body = json.dumps(track("pipelined")).encode()
    first = head(
        edge,
        "POST",
        "/v1/generations",
        "Content-Type: application/json",
        "Prefer: wait=2",
        f"Content-Length: {len(body)}",
    )
    answer = raw_exchange(edge, first + body + b"GET /health/live HTTP/1.1\r\n")
    assert answer.status in (200, 202)
    view, _, rest = answer.body.partition(b"HTTP/1.1 ")
    assert json.loads(view)["id"]  # a whole answer
    assert rest.startswith(b"408")  # then the half head, timed from the end of that answer


def test_deep_nesting_and_long_arrays_are_clear_4xx(edge: ServerProcess) -> None:
    with edge.client() as client:
        nested = client.post(
            "/v1/generations",
            content=b"[" * 30_000 + b"]" * 30_000,
            headers={"Content-Type": "application/json"},
        )
        assert 400 <= nested.status_code < 500, nested.text
        many = client.post("/v1/generations", json={"prompt": "x", "genres": ["lofi"] * 6000})
        assert many.status_code == 422
        assert [e["loc"] for e in many.json()["errors"]] == [["body", "genres"]]
        assert len(many.content) < 2048


# --- Host names, cross-site requests, CORS, headers ------------------------------------


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_loopback_host_names_are_answered(edge: ServerProcess, host: str) -> None:
    with edge.client(headers={"Host": f"{host}:{edge.port}"}) as client:
        assert client.get("/health/live").status_code == 200


def test_another_host_name_is_refused_except_by_the_open_probes(edge: ServerProcess) -> None:
    with edge.client(headers={"Host": "rebound.evil.example"}) as client:
        response = client.get("/v1/jobs")
        assert response.status_code == 400
        assert "Host" in response.json()["detail"]
        assert client.get("/health/system").status_code == 400
        # Probes and scrapers reach a pod by its address.
        for probe in ("/health/live", "/health/ready", "/metrics"):
            assert client.get(probe).status_code == 200, probe


def test_a_cross_site_page_cannot_change_anything_without_a_key(edge: ServerProcess) -> None:
    with edge.client() as client:
        job_id = client.post("/v1/generations", json=track("csrf")).json()["id"]
        cancel = f"/v1/jobs/{job_id}/cancel"
        refused = client.post(cancel, headers={"Origin": EVIL})
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        form = client.post(cancel, content=b"a=b", headers={"Content-Type": "text/plain"})
        assert form.status_code == 415
        urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
        assert client.post("/v1/admin/clean", content=b"x=1", headers=urlencoded).status_code == 415
        assert client.get(f"/v1/jobs/{job_id}").json()["state"] != "cancelled"
        # The API's own origin, and an allowed one, are not cross-site.
        same = client.post(cancel, headers={"Origin": edge.base_url})
        assert same.status_code in (202, 409), same.text
        assert client.post(cancel, headers={"Origin": STUDIO}).status_code in (202, 409)
        # A request with an API key passes the guard (and then needs a valid key).
        keyed = client.post(cancel, headers={"Origin": EVIL, "Authorization": "Bearer mw_x_y"})
        assert keyed.status_code == 401


def test_a_cross_site_page_cannot_open_a_progress_socket(edge: ServerProcess) -> None:
    url = edge.ws_url("0" * 32)
    for subprotocols in (None, ["bearer", "forged"]):  # any page can offer these
        with pytest.raises(InvalidStatus) as refused:
            connect(
                url,
                origin=EVIL,  # type: ignore[arg-type]
                subprotocols=subprotocols,  # type: ignore[arg-type]
                open_timeout=READ_LIMIT_S,
            ).close()
        assert refused.value.response.status_code == 403
    socket_ = connect(url, origin=STUDIO, open_timeout=READ_LIMIT_S)  # type: ignore[arg-type]
    with socket_, pytest.raises(ConnectionClosed):
        socket_.recv(timeout=READ_LIMIT_S)
    assert socket_.close_code == 4404  # past the guard: no such job


def test_cors_answers_only_the_configured_origins(edge: ServerProcess) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    with edge.client() as client:
        allowed = client.options("/v1/generations", headers={"Origin": STUDIO, **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == STUDIO
        other = client.options("/v1/generations", headers={"Origin": EVIL, **preflight})
        assert "access-control-allow-origin" not in other.headers
        read = client.get("/v1/jobs", headers={"Origin": STUDIO})
        assert read.headers["access-control-allow-origin"] == STUDIO
        assert "X-Request-ID" in read.headers["access-control-expose-headers"]


def test_cors_is_closed_by_default(server: ServerProcess) -> None:
    with server.client() as client:
        preflight = client.options(
            "/v1/generations",
            headers={"Origin": STUDIO, "Access-Control-Request-Method": "POST"},
        )
    assert "access-control-allow-origin" not in preflight.headers


def test_every_answer_carries_security_headers(edge: ServerProcess) -> None:
    with edge.client() as client:
        for response in (client.get("/v1/jobs"), client.get("/nowhere")):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["content-security-policy"].startswith("default-src 'none'")
        page = client.get("/docs")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy


# --- the ingress ceiling -------------------------------------------------------------------


def test_the_ingress_ceiling_limits_changes_not_reads(tmp_path: Path) -> None:
    env = {"MUSEWAVE_RATE_INGRESS": "3/minute"}
    server = launch(tmp_path / "data", tmp_path / "server.log", env)
    try:
        with server.client() as client:
            answers = [client.post("/v1/jobs/nope/cancel").status_code for _ in range(3)]
            assert answers == [404, 404, 404]
            over = client.post("/v1/generations", json=track("ceiling"))
            assert over.status_code == 429
            assert client.post("/generate", json=track("alias")).status_code == 429
            assert int(over.headers["retry-after"]) >= 1
            assert over.headers["content-type"] == "application/problem+json"
            reads = [client.get("/v1/jobs").status_code for _ in range(10)]
            assert reads == [200] * 10
    finally:
        server.stop()


# --- the hostile inputs the issue found, each a clear 4xx ---------------------------------

HOSTILE: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/generations", {"json": {"prompt": "song", "lyrics": "la la la"}}),
    ("POST", "/v1/generations", {"content": b'{"prompt": "x", "duration_s": 1e400}'}),
    ("POST", "/v1/generations", {"content": b'{"prompt": "x", "bpm": NaN}'}),
    ("POST", "/v1/generations", {"content": b'{"prompt": "x", "seed": Infinity}'}),
    ("POST", "/v1/generations", {"content": b'{"prompt": "\\ud800 lofi"}'}),
    ("GET", "/v1/admin/dead?cursor=garbage", {}),
    ("POST", "/v1/admin/clean?older_than_s=1e11", {}),
    ("POST", "/v1/generations", {"json": {"prompt": "x" * 60_000}}),
]


@pytest.mark.parametrize(("method", "path", "request_args"), HOSTILE)
def test_each_hostile_input_found_before_is_a_clear_answer(
    edge: ServerProcess, method: str, path: str, request_args: dict[str, Any]
) -> None:
    headers = {"Content-Type": "application/json"}
    with edge.client() as client:
        response: httpx.Response = client.request(method, path, headers=headers, **request_args)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["detail"]
            assert len(response.content) < 4096  # never the input echoed back
        assert client.get("/health/live").status_code == 200
