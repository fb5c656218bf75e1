"""``GET /v1/jobs``: newest first, filtered by state, paged by an opaque cursor."""

from __future__ import annotations

from typing import Any

from tests.service.support import ServerProcess, submit, track


def test_list_filters_by_state_and_pages_with_a_cursor(server: ServerProcess) -> None:
    with server.client() as client:
        ids = [submit(client, track(f"listed {n}"))["id"] for n in range(5)]
        for job_id in ids:
            client.post(f"/v1/jobs/{job_id}/cancel")

        everything = client.get("/v1/jobs", params={"limit": 200}).json()
        assert everything["next_cursor"] is None
        newest_first = [job["id"] for job in everything["jobs"]]
        assert newest_first[:5] == ids[::-1]
        created = [job["timings"]["created_at"] for job in everything["jobs"]]
        assert created == sorted(created, reverse=True)

        pages: list[list[dict[str, Any]]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/jobs", params=params).json()
            assert len(page["jobs"]) <= 2
            pages.append(page["jobs"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [job["id"] for page in pages for job in page] == newest_first

        queued = client.get("/v1/jobs", params={"state": "queued", "limit": 200}).json()
        assert all(job["state"] == "queued" for job in queued["jobs"])
        completed = client.get("/v1/jobs", params={"state": "completed", "limit": 200}).json()
        assert not set(ids) & {job["id"] for job in completed["jobs"]}
        assert client.get("/v1/jobs", params={"limit": 0}).status_code == 422
        assert client.get("/v1/jobs", params={"limit": 201}).status_code == 422
