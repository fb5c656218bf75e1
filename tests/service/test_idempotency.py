"""Duplicates: an Idempotency-Key names one job; a seeded request is a result-cache key."""

from __future__ import annotations

import uuid

from tests.service.support import (
    ServerProcess,
    WsWatcher,
    cancel,
    get_job,
    started,
    submit,
    track,
)


def test_idempotency_key_and_seeded_duplicates(server: ServerProcess) -> None:
    seeded = track("seeded synthwave drive", genres=["synthwave"], seed=4242)
    with server.client() as client:
        first = submit(client, seeded)
        job_id = first["id"]
        assert first["created"] is True
        with WsWatcher(server, job_id) as watcher:
            watcher.wait_for(started)

            # An identical seeded request while it renders attaches to it.
            attached = submit(client, seeded)
            assert attached["id"] == job_id and attached["created"] is False
            assert attached["state"] in ("active", "completed")
            # Field order and whitespace do not make a different request.
            reordered = {k: seeded[k] for k in reversed(list(seeded))}
            reordered["prompt"] = f"  {seeded['prompt']}  "
            assert submit(client, reordered)["id"] == job_id

            # The same Idempotency-Key with the same body returns the same job...
            key = {"Idempotency-Key": f"key-{uuid.uuid4().hex}"}
            keyed_body = track("keyed request")
            keyed = submit(client, keyed_body, headers=key)
            assert keyed["created"] is True and keyed["id"] != job_id
            again = submit(client, keyed_body, headers=key)
            assert again == {**keyed, "created": False}
            # ... but never for a different request: that is a mistake worth saying.
            reused = client.post("/v1/generations", json=track("another body"), headers=key)
            assert reused.status_code == 409, reused.text
            assert "different request" in reused.json()["detail"]
            # A different key is a different job.
            fresh_key = {"Idempotency-Key": f"key-{uuid.uuid4().hex}"}
            assert submit(client, keyed_body, headers=fresh_key)["id"] != keyed["id"]

            # Without a seed, each request is a new variation.
            unseeded = track("unseeded variation")
            variations = {submit(client, unseeded)["id"] for _ in range(3)}
            assert len(variations) == 3 and job_id not in variations
            # A different seed is a different request.
            reseeded = submit(client, {**seeded, "seed": 4243})
            assert reseeded["created"] is True and reseeded["id"] != job_id

            for other in [keyed["id"], reseeded["id"], *variations]:
                assert cancel(client, other)["state"] == "cancelled"  # all still queued
            done = watcher.wait_done()
        assert done[-1]["type"] == "completed"
        job = get_job(client, job_id)
        assert job["state"] == "completed" and job["attempts"] == 1

        # After completion a repeat is a cache hit: 200, completed, the same job and assets.
        response = client.post("/v1/generations", json=seeded)
        assert response.status_code == 200, response.text
        hit = response.json()
        assert hit["id"] == job_id and hit["state"] == "completed"
        assert hit["created"] is False
        assert get_job(client, job_id)["assets"] == job["assets"] == done[-1]["result"]["assets"]
        # ... and the legacy route answers the same way.
        legacy = client.post("/generate", json=seeded)
        assert legacy.status_code == 200 and legacy.json()["id"] == job_id
        # Exactly one job for the seeded request exists.
        listed = client.get("/v1/jobs", params={"state": "completed", "limit": 200}).json()
        prompts = [j["request"]["prompt"] for j in listed["jobs"]]
        assert prompts.count(seeded["prompt"]) == 1
