"""Who may call what, generated from the app's route table so that no route is forgotten:
every route × {no key, a wrong key, the owner's user key, another user key, an admin key}."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute
from starlette.websockets import WebSocketDisconnect

from musewave.access import KeyStore, Scope
from musewave.config import Settings
from musewave.db import make_engine, make_session_factory, upgrade
from musewave.jobs import AssetRecord
from musewave.jobs.local_scheduler import LocalScheduler
from musewave.service.app import create_app

# Open to anyone, on purpose: probes, the exposition, and the API's own documentation.
PUBLIC = {
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", "/openapi.json"),
    ("GET", "/docs/static/{path:path}"),
    ("HEAD", "/docs/static/{path:path}"),
    # The studio's pages hold no data: what they show, the API decides per key.
    ("GET", "/"),
    ("GET", "/tracks/{job_id}"),
    ("GET", "/dashboard"),
}
ADMIN_ONLY_PREFIXES = ("/v1/admin/", "/health")


@dataclass
class World:
    client: TestClient
    keys: dict[str, str | None]  # who → Authorization secret (None: no header)
    job_id: str
    delivery_id: str
    spare_key_id: str  # a key the admin routes may revoke


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = Settings(data_dir=tmp_path, auth="required")
    upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    store = KeyStore(make_session_factory(engine))
    keys: dict[str, str | None] = {
        "none": None,
        "wrong": "mw_0000000000000000_not-a-real-secret-at-all-not-at-all-no",
        "owner": store.create("owner", Scope.USER)[1],
        "other": store.create("other", Scope.USER)[1],
        "admin": store.create("admin", Scope.ADMIN)[1],
    }
    spare_key_id = store.create("spare", Scope.USER)[0].id
    engine.dispose()
    with TestClient(create_app(settings, start_workers=False)) as client:
        owner = {"Authorization": f"Bearer {keys['owner']}"}
        job_id = client.post("/v1/generations", json={"prompt": "mine"}, headers=owner).json()["id"]
        _complete_with_a_file(client, job_id, settings)
        yield World(client, keys, job_id, _a_delivery(client, job_id), spare_key_id)


def _complete_with_a_file(client: TestClient, job_id: str, settings: Settings) -> None:
    store = client.app.state.services.queue.store  # type: ignore[attr-defined]
    assert LocalScheduler(store).claim("w", 60_000) is not None
    path = settings.storage_dir / job_id / "mix.mp3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"ID3 not really an mp3")
    asset = AssetRecord(
        name="mix.mp3",
        kind="mix",
        path=f"{job_id}/mix.mp3",
        media_type="audio/mpeg",
        size_bytes=path.stat().st_size,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
    assert store.complete(job_id, "w", [asset], seed=1)


def _a_delivery(client: TestClient, job_id: str) -> str:
    """A webhook delivery of the job (to a name that never resolves: RFC 6761)."""
    webhooks = client.app.state.services.webhooks.store  # type: ignore[attr-defined]
    webhooks.record(
        job_id=job_id,
        owner="",
        url="https://hooks.invalid/",
        event_type="job.completed",
        dedup_key="completed:test",
        payload="{}",
    )
    delivery_id: str = webhooks.deliveries(job_id)[0].id
    return delivery_id


def _routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, those of included routers too (the app includes them without a prefix)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _routes(included.routes) if included is not None else [route]


def _calls(world: World) -> Iterator[tuple[str, str, str]]:
    """(method, route template, URL) for every HTTP route of the app."""
    for route in _routes(world.client.app.routes):  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute):
            continue
        url = route.path.replace("{job_id}", world.job_id).replace("{name:path}", "mix.mp3")
        url = url.replace("{generation_id}", world.job_id)  # a job made alone: a generation
        url = url.replace("{delivery_id}", world.delivery_id)
        url = url.replace("{key_id}", world.spare_key_id)
        for method in sorted(route.methods):
            yield method, route.path, url


def _headers(secret: str | None) -> dict[str, str]:
    return {} if secret is None else {"Authorization": f"Bearer {secret}"}


def test_every_route_answers_each_kind_of_caller_as_the_model_says(world: World) -> None:
    checked = set()
    for method, template, url in _calls(world):
        if (method, template) in PUBLIC:
            for who, secret in world.keys.items():
                response = world.client.request(method, url, headers=_headers(secret))
                assert response.status_code not in (401, 403), (method, template, who)
            continue
        admin_only = template.startswith(ADMIN_ONLY_PREFIXES)
        names_a_job = ("{job_id}" in template or "{generation_id}" in template) and not admin_only
        body = {"prompt": "a test"} if template in ("/v1/generations", "/generate") else None
        for who, secret in world.keys.items():
            response = world.client.request(method, url, headers=_headers(secret), json=body)
            status = response.status_code
            where = (method, template, who, status, response.text[:200])
            if who in ("none", "wrong"):
                assert status == 401, where
                assert response.headers["www-authenticate"].startswith("Bearer"), where
            elif admin_only and who != "admin":
                assert status == 403, where
            elif names_a_job and who == "other":
                assert status == 404, where  # another key's job does not exist for it
            else:
                assert status not in (401, 403, 404), where
            assert "mw_" not in response.text  # no secret ever comes back
        checked.add((method, template))
    assert ("POST", "/v1/generations") in checked and ("GET", "/v1/admin/queue") in checked
    assert len(checked) >= 12


def test_lists_show_a_user_only_its_own_jobs(world: World) -> None:
    def listed(who: str) -> list[str]:
        page = world.client.get("/v1/jobs", headers=_headers(world.keys[who])).json()
        return [job["id"] for job in page["jobs"]]

    assert listed("owner") == [world.job_id]
    assert listed("other") == []
    assert listed("admin") == [world.job_id]


def test_the_websocket_takes_the_key_as_a_header_or_subprotocol(world: World) -> None:
    path = f"/ws/progress/{world.job_id}"
    websocket_routes = [
        r.path
        for r in _routes(world.client.app.routes)  # type: ignore[attr-defined]
        if isinstance(r, APIWebSocketRoute)
    ]
    assert websocket_routes == ["/ws/progress/{job_id}"]  # a new socket needs its own case here

    def close_code(**kwargs: object) -> int:
        with (
            world.client.websocket_connect(path, **kwargs) as socket,  # type: ignore[arg-type]
            pytest.raises(WebSocketDisconnect) as closed,
        ):
            while True:
                socket.receive_json()
        return closed.value.code

    assert close_code() == 4401
    assert close_code(headers=_headers(world.keys["wrong"])) == 4401
    assert close_code(headers=_headers(world.keys["other"])) == 4404
    assert close_code(headers=_headers(world.keys["owner"])) == 1000
    assert close_code(subprotocols=["bearer", str(world.keys["owner"])]) == 1000


def test_each_key_reads_and_rotates_its_own_webhook_secret(world: World) -> None:
    def secret(who: str) -> str:
        response = world.client.get(
            "/v1/webhooks/default/secret", headers=_headers(world.keys[who])
        )
        assert response.status_code == 200, response.text
        key: str = response.json()["key"]
        return key

    owner, other = secret("owner"), secret("other")
    assert owner != other and owner == secret("owner")
    rotated = world.client.post(
        "/v1/webhooks/default/secret/rotate", headers=_headers(world.keys["owner"])
    )
    assert rotated.json()["key"] == secret("owner") != owner
    assert secret("other") == other
