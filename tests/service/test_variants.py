"""Variants: ``n`` renders of one request with derived seeds, each its own job, listed
together at ``/v1/generations/{id}`` and cancelled together; on both backends."""

from __future__ import annotations

import hashlib

from tests.service.conftest import StartServer
from tests.service.support import ServerProcess, WsWatcher, is_terminal, long_track, submit, track


def test_variants_are_jobs_with_consecutive_seeds_and_different_results(
    server: ServerProcess,
) -> None:
    with server.client() as client:
        first = submit(client, track("three takes", seed=1000, n=3))
        for job_id in first["variants"]:
            with WsWatcher(server, job_id) as watcher:
                watcher.wait_for(is_terminal)
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
        ahead = submit(client, long_track("ahead"))
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


def test_a_key_reused_for_another_number_of_variants_is_a_conflict(server: ServerProcess) -> None:
    body = track("counted", seed=5)
    key = {"Idempotency-Key": "k3"}
    with server.client() as client:
        made = submit(client, {**body, "n": 3}, headers=key)
        other_n = client.post("/v1/generations", json={**body, "n": 2}, headers=key)
        generation = client.get(f"/v1/generations/{made['id']}").json()
        client.post(f"/v1/generations/{made['id']}/cancel")
    assert other_n.status_code == 409
    assert "3 variant" in other_n.json()["detail"]
    assert [job["id"] for job in generation["jobs"]] == made["variants"]  # nothing added


def test_each_variant_counts_against_the_rate_limit(start_server: StartServer) -> None:
    server = start_server(MUSEWAVE_RATE_ANONYMOUS="4/minute", MUSEWAVE_CONCURRENCY="1")
    with server.client() as client:
        three = client.post("/v1/generations", json=track("three", n=3))
        two_more = client.post("/v1/generations", json=track("two", n=2))
        one_more = client.post("/v1/generations", json=track("one"))
    assert three.status_code == 202 and three.headers["ratelimit-remaining"] == "1"
    assert two_more.status_code == 429
    assert one_more.status_code == 202
