"""Variants: ``n`` renders of one request with derived seeds, each its own job, listed
together at ``/v1/generations/{id}`` and cancelled together; on both backends."""

from __future__ import annotations

import hashlib

from tests.service.support import ServerProcess, submit, track


def test_variants_are_jobs_with_consecutive_seeds_and_different_results(
    server: ServerProcess,
) -> None:
    with server.client(timeout=120) as client:
        response = client.post(
            "/v1/generations",
            json=track("three takes", seed=1000, n=3),
            headers={"Prefer": "wait=60"},
        )
        assert response.status_code == 200, response.text
        first = response.json()
        generation = client.get(f"/v1/generations/{first['id']}").json()
        mixes = [
            client.get(f"/v1/jobs/{job['id']}/assets/mix.wav").content for job in generation["jobs"]
        ]

    assert first["variants"] == [job["id"] for job in generation["jobs"]]
    assert generation["id"] == first["id"] == first["variants"][0]
    assert [job["seed"] for job in generation["jobs"]] == [1000, 1001, 1002]
    assert all(job["state"] == "completed" for job in generation["jobs"])
    assert len({job["fingerprint"] for job in generation["jobs"]}) == 3
    assert len({hashlib.sha256(mix).hexdigest() for mix in mixes}) == 3  # three takes, not one


def test_unseeded_variants_get_seeds_and_a_repeated_key_gets_the_same_jobs(
    server: ServerProcess,
) -> None:
    body = track("keyed takes", n=2)
    with server.client() as client:
        # One render at a time: with a long one ahead, both variants are still queued when
        # they are cancelled, so they end at once.
        ahead = submit(client, track("ahead", duration_s=120, formats=["mp3", "wav"]))
        made = submit(client, body, headers={"Idempotency-Key": "takes-1"})
        again = submit(client, body, headers={"Idempotency-Key": "takes-1"})
        cancelled = client.post(f"/v1/generations/{made['id']}/cancel")
        client.post(f"/v1/jobs/{ahead['id']}/cancel")

    assert made["created"] is True and again["created"] is False
    assert again["variants"] == made["variants"] and len(made["variants"]) == 2
    assert cancelled.status_code == 202
    jobs = cancelled.json()["jobs"]
    assert [job["id"] for job in jobs] == made["variants"]
    seeds = [job["seed"] for job in jobs]
    assert seeds[1] == seeds[0] + 1
    assert all(job["state"] == "cancelled" for job in jobs)


def test_a_job_made_alone_is_a_generation_of_one(server: ServerProcess) -> None:
    with server.client() as client:
        job = submit(client, track("alone"))
        assert job["variants"] == [job["id"]]
        generation = client.get(f"/v1/generations/{job['id']}").json()
        assert [j["id"] for j in generation["jobs"]] == [job["id"]]
        client.post(f"/v1/generations/{job['id']}/cancel")
        assert client.get("/v1/generations/" + "0" * 32).status_code == 404
        too_many = client.post("/v1/generations", json=track("five", n=5))
        assert too_many.status_code == 422
        assert too_many.json()["errors"][0]["loc"] == ["body", "n"]
