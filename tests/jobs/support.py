"""Helpers shared by the queue tests (fixtures live in conftest.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from musewave.engine.request import GenerationRequest
from musewave.jobs import AssetRecord, JobStore

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LEASE_MS = 60_000

MakeStore = Callable[..., JobStore]


class FakeClock:
    """Frozen time that moves only when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def make_request(prompt: str = "calm piano at dawn", **fields: Any) -> GenerationRequest:
    return GenerationRequest.model_validate({"prompt": prompt, **fields})


def make_asset(job_id: str, name: str = "mix.mp3", kind: str = "mix") -> AssetRecord:
    return AssetRecord(
        name=name,
        kind=kind,
        path=f"{job_id}/{name}",
        media_type="audio/mpeg",
        size_bytes=1234,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        duration_s=30.0,
    )
