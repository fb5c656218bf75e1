"""``GET /v1/me`` and API-key management over HTTP (``/v1/admin/keys``), the operator
dashboard's way to do what ``musewave keys`` does; and the dashboard's throughput and the
studio's history search, through the API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from musewave.access import KeyStore, Scope
from musewave.config import Settings
from musewave.db import make_engine, make_session_factory, upgrade
from musewave.service import auth
from musewave.service.app import create_app


@dataclass
class Server:
    client: TestClient
    admin: dict[str, str]
    user: dict[str, str]


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setattr(auth, "VERIFIED_TTL_S", 0.0)  # a revocation counts at once
    settings = Settings(data_dir=tmp_path, auth="required")
    upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    store = KeyStore(make_session_factory(engine))
    admin = store.create("ops", Scope.ADMIN)[1]
    user = store.create("alice", Scope.USER)[1]
    engine.dispose()
    with TestClient(create_app(settings, start_workers=False)) as client:
        yield Server(client, _bearer(admin), _bearer(user))


def test_me_names_the_key_and_its_scope_never_its_secret(server: Server) -> None:
    me = server.client.get("/v1/me", headers=server.user).json()
    assert (me["name"], me["scope"], me["anonymous"]) == ("alice", "user", False)
    assert me["key_id"] and "mw_" not in str(me)
    assert server.client.get("/v1/me", headers=server.admin).json()["scope"] == "admin"
    assert server.client.get("/v1/me").status_code == 401


def test_me_on_a_loopback_server_without_a_key_is_the_anonymous_admin(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path), start_workers=False)) as client:
        me = client.get("/v1/me").json()
    assert me == {"key_id": None, "name": "anonymous", "scope": "admin", "anonymous": True}


def test_an_admin_creates_a_key_that_works_at_once_and_revokes_it(server: Server) -> None:
    client = server.client
    answer = client.post(
        "/v1/admin/keys",
        json={"name": " studio ", "scope": "user", "rate": "5/minute"},
        headers=server.admin,
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert (created["name"], created["scope"], created["rate"]) == ("studio", "user", "5/minute")
    assert created["active"] and created["secret"].startswith(f"mw_{created['id']}_")
    new_key = _bearer(created["secret"])
    assert client.get("/v1/me", headers=new_key).json()["name"] == "studio"

    listed = client.get("/v1/admin/keys", headers=server.admin).json()
    assert [k["name"] for k in listed] == ["ops", "alice", "studio"]
    assert all("secret" not in k for k in listed)

    revoked = client.post(f"/v1/admin/keys/{created['id']}/revoke", headers=server.admin)
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False and revoked.json()["revoked_at"]
    assert client.get("/v1/me", headers=new_key).status_code == 401
    again = client.post(f"/v1/admin/keys/{created['id']}/revoke", headers=server.admin)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert client.post("/v1/admin/keys/nope/revoke", headers=server.admin).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"name": "ok", "scope": "root"},
        {"name": "ok", "rate": "fast"},
        {"name": "ok", "rate": "0" * 49},  # found by the fuzz run: the pattern says no
        {"name": "ok", "rate": "0/minute"},
        {"name": "ok", "rate": ""},
        {"name": "ok", "secret": "mine"},
    ],
)
def test_a_key_request_that_makes_no_sense_is_422(server: Server, body: dict[str, str]) -> None:
    answer = server.client.post("/v1/admin/keys", json=body, headers=server.admin)
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("rate", ["60/minute", "5 per second", "10/2 hours", "1 per day"])
def test_every_rate_the_document_allows_is_taken(server: Server, rate: str) -> None:
    answer = server.client.post(
        "/v1/admin/keys", json={"name": "r", "rate": rate}, headers=server.admin
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["rate"] == rate


def test_a_user_key_manages_no_keys(server: Server) -> None:
    client = server.client
    assert client.get("/v1/admin/keys", headers=server.user).status_code == 403
    made = client.post("/v1/admin/keys", json={"name": "mine"}, headers=server.user)
    assert made.status_code == 403
    assert client.get("/v1/admin/throughput", headers=server.user).status_code == 403


def test_throughput_answers_buckets_and_refuses_too_many(server: Server) -> None:
    client = server.client
    buckets = client.get(
        "/v1/admin/throughput", params={"window_s": 600, "bucket_s": 60}, headers=server.admin
    ).json()
    assert len(buckets) == 10
    assert all(b["completed"] == b["failed"] == b["cancelled"] == 0 for b in buckets)
    too_many = client.get(
        "/v1/admin/throughput", params={"window_s": 86_400, "bucket_s": 10}, headers=server.admin
    )
    assert too_many.status_code == 422
    assert "500 buckets" in too_many.json()["errors"][0]["msg"]


def test_history_search_finds_only_the_callers_own_jobs(server: Server) -> None:
    client = server.client
    mine = client.post("/v1/generations", json={"prompt": "Moonlit harp"}, headers=server.user)
    client.post("/v1/generations", json={"prompt": "moonlit organ"}, headers=server.admin)

    def found(query: str, who: dict[str, str]) -> list[str]:
        answer = client.get("/v1/jobs", params={"q": query}, headers=who)
        assert answer.status_code == 200, answer.text
        return [job["request"]["prompt"] for job in answer.json()["jobs"]]

    assert found("moonlit", server.user) == ["Moonlit harp"]
    assert sorted(found("MOONLIT", server.admin)) == ["Moonlit harp", "moonlit organ"]
    assert found(mine.json()["id"][:8], server.user) == ["Moonlit harp"]
    assert found("", server.user) == ["Moonlit harp"]  # an empty search is no filter
    long = client.get("/v1/jobs", params={"q": "x" * 201}, headers=server.user)
    assert long.status_code == 422


def test_the_keys_path_names_both_its_methods_and_refuses_a_body_that_is_not_json(
    server: Server,
) -> None:
    # Found by the fuzz run: Starlette's 405 named only the first route's method (GET).
    for method in ("OPTIONS", "DELETE", "PUT"):
        answer = server.client.request(method, "/v1/admin/keys", headers=server.admin)
        assert (answer.status_code, answer.headers["allow"]) == (405, "GET, POST")
    broken = server.client.post(
        "/v1/admin/keys",
        content=b"\x7f'\xff[",
        headers={**server.admin, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    document = server.client.get("/openapi.json").json()
    assert "400" in document["paths"]["/v1/admin/keys"]["post"]["responses"]
