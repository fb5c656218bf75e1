"""Signatures as the Standard Webhooks reference library (``standardwebhooks``) checks them."""

from __future__ import annotations

import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from musewave.webhooks.signing import new_secret, webhook_headers

BODY = b'{"type":"job.completed","timestamp":"2026-01-01T00:00:00+00:00","data":{}}'


def test_a_signed_message_verifies_with_the_secret() -> None:
    secret = new_secret()
    headers = webhook_headers([secret], "msg_1", int(time.time()), BODY)

    assert Webhook(secret).verify(BODY, headers)["type"] == "job.completed"


def test_a_tampered_body_or_another_secret_is_rejected() -> None:
    secret = new_secret()
    headers = webhook_headers([secret], "msg_1", int(time.time()), BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"completed", b"failed"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_an_old_timestamp_is_rejected() -> None:
    secret = new_secret()
    headers = webhook_headers([secret], "msg_1", int(time.time()) - 3600, BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_during_a_rotation_both_secrets_verify() -> None:
    old, new = new_secret(), new_secret()
    headers = webhook_headers([new, old], "msg_1", int(time.time()), BODY)

    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, headers)
    assert Webhook(new).verify(BODY, headers)
