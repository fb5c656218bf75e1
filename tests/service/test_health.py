"""Health probes and the OpenAPI description."""

from __future__ import annotations

from musewave import __version__
from musewave.engine import ENGINE_VERSION
from tests.service.support import ServerProcess


def test_health_probes(server: ServerProcess) -> None:
    with server.client() as client:
        assert client.get("/health/live").json() == {"status": "ok"}

        ready = client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "failing": []}

        detail = client.get("/health")
        assert detail.status_code == 200
        body = detail.json()
        assert body["status"] == "ok"
        components = body["components"]
        assert set(components) >= {"database", "storage", "queue", "cache"}
        assert all(c["ok"] is True for c in components.values())
        assert components["database"]["revision"] == components["database"]["head"] is not None
        assert components["storage"]["free_mb"] >= components["storage"]["min_free_mb"]
        queue = components["queue"]
        assert queue["backend"] == server.backend and queue["accepting"] is True
        if server.backend == "local":
            assert queue["workers_alive"] == queue["workers_configured"] == 1
        else:  # one `musewave worker` process with one BullMQ worker; Redis and relay up
            assert queue["workers_alive"] == 1
            assert queue["redis"] is True and queue["events_relay"] is True
            assert set(queue["bullmq_counts"]) >= {"waiting", "active", "delayed", "failed"}

        system = client.get("/health/system").json()
        assert system["versions"]["musewave"] == __version__
        assert system["versions"]["engine"] == ENGINE_VERSION
        assert system["versions"]["python"].count(".") == 2
        assert system["process"]["pid"] == server.pid
        assert system["cpu"]["count"] >= 1 and system["memory"]["total_mb"] > 0

        stats = client.get("/v1/admin/queue").json()
        assert set(stats) >= {"queued", "active", "completed", "failed", "cancelled", "dead"}


def test_openapi_lists_the_routes(server: ServerProcess) -> None:
    with server.client() as client:
        docs = client.get("/docs")
        assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
        assert "/openapi.json" in docs.text
        spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "MuseWave" and spec["info"]["version"] == __version__
    paths = spec["paths"]
    expected = {
        "/v1/generations": {"post"},
        "/v1/jobs": {"get"},
        "/v1/jobs/{job_id}": {"get"},
        "/v1/jobs/{job_id}/cancel": {"post"},
        "/v1/jobs/{job_id}/assets": {"get"},
        "/v1/jobs/{job_id}/assets/{name}": {"get"},
        "/v1/jobs/{job_id}/events": {"get"},
        "/v1/admin/queue": {"get"},
        "/v1/admin/dead": {"get"},
        "/v1/admin/jobs/{job_id}/redrive": {"post"},
        "/v1/admin/clean": {"post"},
        "/health/live": {"get"},
        "/health/ready": {"get"},
        "/health": {"get"},
        "/health/system": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, (path, sorted(paths))
        assert methods <= set(paths[path]), (path, paths[path])
    generation = paths["/v1/generations"]["post"]
    assert {"202", "422"} <= set(generation["responses"])
    assert any(p["name"].lower() == "idempotency-key" for p in generation["parameters"])
