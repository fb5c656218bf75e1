"""Generation rate limits: per key, per anonymous IP, in memory and in a real Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from musewave.access import Caller, Scope
from musewave.access.rate_limits import GenerationLimits
from musewave.config import Settings
from musewave.service.app import create_app

ALICE = Caller(owner=f"alice-{uuid4().hex[:8]}", scope=Scope.USER, name="alice")
BOB = Caller(owner=f"bob-{uuid4().hex[:8]}", scope=Scope.USER, name="bob")
ANONYMOUS = Caller(owner="", scope=Scope.ADMIN)


@pytest.fixture(params=["memory", "redis"])
def limits(request: pytest.FixtureRequest) -> Iterator[GenerationLimits]:
    uri = "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")
    yield GenerationLimits(uri, default_rate="2/minute", anonymous_rate="1/minute")


def test_a_key_gets_its_rate_then_429_with_retry_after(limits: GenerationLimits) -> None:
    verdicts = [limits.hit(ALICE, "10.0.0.1") for _ in range(3)]

    assert [v.allowed for v in verdicts] == [True, True, False]
    assert [v.remaining for v in verdicts] == [1, 0, 0]
    refused = verdicts[-1].headers()
    assert refused["RateLimit-Limit"] == "2"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert limits.hit(BOB, "10.0.0.1").allowed  # another key has its own window


def test_anonymous_callers_are_counted_per_ip_and_a_keys_own_rate_wins(
    limits: GenerationLimits,
) -> None:
    assert limits.hit(ANONYMOUS, "10.0.0.7").allowed
    assert not limits.hit(ANONYMOUS, "10.0.0.7").allowed
    assert limits.hit(ANONYMOUS, "10.0.0.8").allowed
    generous = Caller(owner=f"g-{uuid4().hex[:8]}", scope=Scope.USER, rate="5/minute")
    assert all(limits.hit(generous, "10.0.0.9").allowed for _ in range(5))
    assert not limits.hit(generous, "10.0.0.9").allowed


def test_an_unreachable_counter_store_lets_requests_through() -> None:
    limits = GenerationLimits(
        "redis://127.0.0.1:9/0", default_rate="1/minute", anonymous_rate="1/minute"
    )
    assert all(limits.hit(ALICE, "10.0.0.1").allowed for _ in range(3))


def test_the_api_answers_429_with_rate_limit_headers(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, rate_anonymous="2/minute")
    with TestClient(create_app(settings, start_workers=False)) as client:
        answers = [client.post("/v1/generations", json={"prompt": f"t {n}"}) for n in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[1].headers["ratelimit-remaining"] == "0"
    refused = answers[2]
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert "at most 2 generations" in refused.json()["detail"]
