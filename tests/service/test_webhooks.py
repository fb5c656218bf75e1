"""Webhooks end to end: a real receiver on loopback (allowed by MUSEWAVE_WEBHOOK_ALLOW_HOSTS
as "localhost") gets each job event, verified with the ``standardwebhooks`` library; retries,
410, SSRF refusals, re-sends and a restart mid-retry. Both backends where a server is shared.

Waiting: receivers and progress streams are awaited as events; the delivery log, which has no
event, is polled with a deadline once the events it should show have happened.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.service.conftest import StartServer
from tests.service.support import (
    ServerProcess,
    WsWatcher,
    is_terminal,
    submit,
    track,
)
from tests.webhooks.support import DROP, Received, Receiver, receiving

LOG_TIMEOUT_S = 60.0


def local_url(receiver: Receiver) -> str:
    return f"http://localhost:{receiver.port}/hooks"


def secret_of(client: httpx.Client) -> str:
    response = client.get("/v1/webhooks/default/secret")
    assert response.status_code == 200, response.text
    key: str = response.json()["key"]
    assert key.startswith("whsec_")
    return key


def deliveries(client: httpx.Client, job_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/v1/jobs/{job_id}/webhooks")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found


def wait_log(
    client: httpx.Client, job_id: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The job's delivery log once ``done`` holds (polled: the log has no event)."""
    deadline = time.monotonic() + LOG_TIMEOUT_S
    while True:
        log = deliveries(client, job_id)
        if done(log):
            return log
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery log of {job_id}: {log}")
        time.sleep(0.1)


def settled(log: list[dict[str, Any]]) -> bool:
    return bool(log) and all(d["state"] != "pending" for d in log)


def types(received: list[Received]) -> list[str]:
    return [r.payload["type"] for r in received]


def cancelled_job(client: httpx.Client, server: ServerProcess, **fields: Any) -> str:
    """A job that ends at once (cancelled while queued behind a busy worker, or at its first
    checkpoint): a final event without a render."""
    job = submit(client, track("webhook", **fields))
    with WsWatcher(server, job["id"]) as watcher:
        response = client.post(f"/v1/jobs/{job['id']}/cancel")
        assert response.status_code in (202, 409), response.text
        watcher.wait_for(is_terminal)
    job_id: str = job["id"]
    return job_id


def test_every_event_arrives_signed_and_verifies(server: ServerProcess) -> None:
    with server.client() as client, receiving() as receiver:
        secret = secret_of(client)
        job = submit(client, track("webhook events", webhook=local_url(receiver)))
        assert job["webhook"] == local_url(receiver)
        assert job["webhook_events_filter"] == ["start", "progress", "completed"]
        received = receiver.wait_for(lambda got: "job.completed" in types(got))

        verifier = Webhook(secret)
        for message in received:
            assert verifier.verify(message.body, message.headers) is not None
            assert message.payload["data"]["id"] == job["id"]
        kinds = types(received)
        assert kinds.count("job.started") == 1 and kinds.count("job.completed") == 1
        assert "job.progress" in kinds
        done = next(r for r in received if r.payload["type"] == "job.completed").payload
        assert done["data"]["state"] == "completed" and done["data"]["assets"]
        # Progress at most once per 500 ms (by the events' own times).
        stamps = sorted(
            datetime.fromisoformat(r.payload["timestamp"])
            for r in received
            if r.payload["type"] == "job.progress"
        )
        assert all((b - a).total_seconds() >= 0.5 for a, b in itertools.pairwise(stamps))

        # The reference verifier refuses a tampered body and an old timestamp.
        sample = received[-1]
        with pytest.raises(WebhookVerificationError):
            verifier.verify(sample.body.replace(b"completed", b"cancelled"), sample.headers)
        stale = {**sample.headers, "webhook-timestamp": str(int(time.time()) - 3600)}
        with pytest.raises(WebhookVerificationError):
            verifier.verify(sample.body, stale)

        log = wait_log(client, job["id"], settled)
        assert {d["id"] for d in log} == {r.id for r in received}
        assert all(d["state"] == "delivered" and d["attempts"] == 1 for d in log)


def test_failed_attempts_are_retried_with_the_same_id(server: ServerProcess) -> None:
    with server.client() as client, receiving(script=[500, DROP, 503]) as receiver:
        job_id = cancelled_job(
            client, server, webhook=local_url(receiver), webhook_events_filter=["completed"]
        )
        received = receiver.wait_for(lambda got: any(r.status == 204 for r in got))

        assert [r.status for r in received] == [500, DROP, 503, 204]
        assert len({r.id for r in received}) == 1
        assert len({r.body for r in received}) == 1
        assert received[0].payload["type"] == "job.cancelled"
        (delivery,) = wait_log(client, job_id, settled)
        assert delivery["state"] == "delivered" and delivery["attempts"] == 4
        assert [a["status"] for a in delivery["log"]] == [500, None, 503, 204]


def test_a_410_disables_the_jobs_webhook(server: ServerProcess) -> None:
    with server.client() as client, receiving(default=410) as receiver:
        job = submit(client, track("webhook gone", webhook=local_url(receiver)))
        with WsWatcher(server, job["id"]) as watcher:
            watcher.wait_for(is_terminal)
        log = wait_log(client, job["id"], settled)

        states = {d["state"] for d in log}
        assert "gone" in states, log
        assert all(d["state"] in ("gone", "disabled") for d in log), log
        # Deliveries of a job are sent one at a time: nothing after the 410 was sent.
        assert len(receiver.received) == 1, types(receiver.received)
        assert all(d["attempts"] <= 1 for d in log)


def test_a_delivery_can_be_sent_again_with_its_id(server: ServerProcess) -> None:
    with server.client() as client, receiving() as receiver:
        job_id = cancelled_job(
            client, server, webhook=local_url(receiver), webhook_events_filter=["completed"]
        )
        first = receiver.wait_for(lambda got: len(got) == 1)[0]
        response = client.post(f"/v1/jobs/{job_id}/webhooks/{first.id}/resend")
        assert response.status_code == 202, response.text
        again = receiver.wait_for(lambda got: len(got) == 2)[1]

        assert again.id == first.id and again.body == first.body
        assert client.post(f"/v1/jobs/{job_id}/webhooks/msg_nope/resend").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hooks",
        "http://[::1]:{port}/hooks",
        "http://10.0.0.1:{port}/hooks",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_internal_destinations_are_refused(server: ServerProcess, url: str) -> None:
    with server.client() as client, receiving() as receiver:
        job_id = cancelled_job(
            client,
            server,
            webhook=url.format(port=receiver.port),
            webhook_events_filter=["completed"],
        )
        (delivery,) = wait_log(client, job_id, settled)

        assert delivery["state"] == "failed" and delivery["attempts"] == 1, delivery
        assert "may not reach" in delivery["last_error"]
        assert receiver.connections == 0


def test_rotation_signs_with_both_secrets_during_the_overlap(server: ServerProcess) -> None:
    with server.client() as client, receiving() as receiver:
        old = secret_of(client)
        rotated = client.post("/v1/webhooks/default/secret/rotate").json()
        new = rotated["key"]
        assert new != old and rotated["previous_valid_until"] is not None
        assert secret_of(client) == new
        cancelled_job(
            client, server, webhook=local_url(receiver), webhook_events_filter=["completed"]
        )
        (message,) = receiver.wait_for(lambda got: len(got) == 1)

        assert len(message.headers["webhook-signature"].split(" ")) == 2
        assert Webhook(old).verify(message.body, message.headers)
        assert Webhook(new).verify(message.body, message.headers)


def test_webhook_fields_are_validated(server: ServerProcess) -> None:
    with server.client() as client:
        for fields in (
            {"webhook": "ftp://example.com/x"},
            {"webhook": "https://user:pw@example.com/"},
            {"webhook": "http://[not-an-address]/hooks"},
            {"webhook": "https://example.com/", "webhook_events_filter": ["output"]},
            {"webhook": "https://example.com/", "webhook_events_filter": []},
        ):
            response = client.post("/v1/generations", json=track("bad hook", **fields))
            assert response.status_code == 422, (fields, response.text)


def test_a_restart_mid_retry_delivers_exactly_the_events_owed(
    start_server: StartServer,
) -> None:
    env = {
        "MUSEWAVE_CONCURRENCY": "1",
        "MUSEWAVE_WEBHOOK_ALLOW_HOSTS": "localhost",
        "MUSEWAVE_WEBHOOK_RETRY_DELAYS_S": ",".join(["0.3"] * 40),
    }
    with receiving(default=500) as receiver:
        server = start_server(**env)
        with server.client() as client:
            job = submit(client, track("webhook restart", webhook=local_url(receiver)))
            # The final event has failed twice: the server stops while it is being retried.
            receiver.wait_for(lambda got: types(got).count("job.completed") >= 2)
        server.stop()
        receiver.default = 204
        restarted = start_server(server.data_dir, **env)
        with restarted.client() as client:
            log = wait_log(client, job["id"], settled)
        received = list(receiver.received)

    assert all(d["state"] == "delivered" for d in log), log
    delivered = {r.id for r in received if r.status == 204}
    assert delivered == {d["id"] for d in log}
    # Each message was delivered once; every repeat of it carried the same id and body.
    assert sum(r.status == 204 for r in received) == len(delivered)
    bodies: dict[str, set[bytes]] = {}
    for message in received:
        bodies.setdefault(message.id, set()).add(message.body)
    assert all(len(b) == 1 for b in bodies.values())
    owed = [d["type"] for d in log]
    assert owed.count("job.started") == 1 and owed.count("job.completed") == 1
