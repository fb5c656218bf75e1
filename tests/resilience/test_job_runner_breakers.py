"""Breakers where jobs run: JobRunner on a real SQL queue (SQLite) and the real engine.

An open breaker makes the attempt fail fast with a retryable error, and the job goes back to
the queue to wait at least until the breaker lets a probe through; the encoder breaker guards
the engine's encoding stage; an overdue render stops itself; a job's state updates survive a
dropped database connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy.exc import OperationalError

from musewave.db import make_engine, make_session_factory, upgrade
from musewave.engine import GenerationRequest
from musewave.jobs import JobState, JobStore, RetryPolicy
from musewave.jobs.events import JobEvent
from musewave.jobs.local_scheduler import LocalScheduler
from musewave.jobs.policy import BREAKER_OPEN, TIMED_OUT
from musewave.jobs.runner import (
    VIDEO_ALLOWANCE_PER_AUDIO_S,
    AttemptStore,
    JobRunner,
    engine_time_limit_s,
)
from musewave.resilience import Breaker, BreakerConfig, Breakers
from musewave.storage import LocalStorage
from tests.conftest import LogLines

WORKER = "test-host:1:0"
LEASE_MS = 60_000
BREAKER_OPEN_DELAY_S = 30.0
POLICY = RetryPolicy(delays_s=(0.5, 0.5), breaker_open_delay_s=BREAKER_OPEN_DELAY_S)
LONG = BreakerConfig(call_timeout_s=300.0, fail_max=2, reset_timeout_s=60.0)


class EngineDown(RuntimeError):
    pass


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    url = f"sqlite:///{(tmp_path / 'musewave.db').as_posix()}"
    upgrade(url)
    engine = make_engine(url)
    yield JobStore(make_session_factory(engine), POLICY)
    engine.dispose()


def breakers(engine: BreakerConfig = LONG, encoder: BreakerConfig = LONG) -> Breakers:
    return Breakers(
        engine=Breaker("engine", engine),
        encoder=Breaker("encoder", encoder),
        llm=Breaker("llm", LONG),
    )


def trip(breaker: Breaker) -> None:
    def down() -> None:
        raise EngineDown("renderer unavailable")

    for _ in range(breaker.config.fail_max):
        with pytest.raises(EngineDown):
            breaker.call(down)
    assert breaker.state == "open"


class BlippingStore:
    """The real store, except that the first call of each method in ``blips`` fails the way a
    dropped database connection does."""

    def __init__(self, store: JobStore, blips: set[str]) -> None:
        self.store = store
        self.blips = set(blips)

    def __getattr__(self, name: str) -> Any:
        real = getattr(self.store, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if name in self.blips:
                self.blips.discard(name)
                raise OperationalError(name, {}, Exception("server closed the connection"))
            return real(*args, **kwargs)

        return call


def run_one(
    store: JobStore, tmp_path: Path, guards: Breakers, blips: set[str] | None = None
) -> tuple[str, list[JobEvent]]:
    request = GenerationRequest(prompt="calm piano at dawn", duration_s=30, seed=5)
    job, _ = store.enqueue(request)
    claimed = LocalScheduler(store).claim(WORKER, LEASE_MS)
    assert claimed is not None and claimed.id == job.id
    events: list[JobEvent] = []
    runner = JobRunner(
        cast(AttemptStore, BlippingStore(store, blips or set())),
        LocalStorage(tmp_path / "assets"),
        WORKER,
        lease_ms=LEASE_MS,
        emit=events.append,
        breakers=guards,
    )
    runner.run(claimed)
    return job.id, events


def test_an_open_engine_breaker_fails_the_attempt_fast_and_the_job_backs_off(
    store: JobStore, tmp_path: Path
) -> None:
    guards = breakers()
    trip(guards.engine)

    job_id, events = run_one(store, tmp_path, guards)

    job = store.get(job_id)
    assert job is not None
    assert (job.state, job.error_kind, job.attempts) == (JobState.QUEUED, BREAKER_OPEN, 1)
    assert "circuit breaker 'engine' is open" in (job.error or "")
    # Not at the policy's 0.5 s: a retry before the breaker half-opens would fail fast again.
    wait = job.run_after - datetime.now(UTC)
    assert (
        timedelta(seconds=BREAKER_OPEN_DELAY_S - 5)
        < wait
        <= timedelta(seconds=BREAKER_OPEN_DELAY_S)
    )
    assert [e.type for e in events] == ["error"]  # nothing was rendered: no progress at all
    assert events[0].message == "will retry"
    assert not (tmp_path / "assets" / job_id).exists()


def test_the_encoder_breaker_guards_the_encoding_stage(store: JobStore, tmp_path: Path) -> None:
    guards = breakers()
    trip(guards.encoder)

    job_id, events = run_one(store, tmp_path, guards)

    job = store.get(job_id)
    assert job is not None
    assert (job.state, job.error_kind) == (JobState.QUEUED, BREAKER_OPEN)
    assert "circuit breaker 'encoder' is open" in (job.error or "")
    progress = [e for e in events if e.type == "progress"]
    # The engine ran up to the encoding stage, and stopped there before writing any file.
    assert progress[-1].stage == "encoding"
    assert [e.message for e in progress if e.stage == "encoding"] == ["writing files"]
    # Another breaker being open says nothing about the engine: it counts no failure.
    assert (guards.engine.state, guards.engine.failures) == ("closed", 0)


def test_a_job_renders_through_closed_breakers_and_survives_database_blips(
    store: JobStore, tmp_path: Path, log_lines: LogLines
) -> None:
    guards = breakers()
    blips = {"update_progress", "is_cancel_requested", "complete"}
    job_id, events = run_one(store, tmp_path, guards, blips)

    job = store.get(job_id)
    assert job is not None and job.state == JobState.COMPLETED
    assert "encoding" in [e.stage for e in events]
    assert (tmp_path / "assets" / job_id / "mix.mp3").is_file()
    assert [b.state for b in guards] == ["closed"] * 3
    retried = {line["operation"] for line in log_lines.where(error_type="OperationalError")}
    assert retried == {"update job progress", "check for cancel", "complete job"}


def test_an_overdue_render_stops_itself_and_counts_against_the_engine(
    store: JobStore, tmp_path: Path
) -> None:
    guards = breakers(engine=BreakerConfig(call_timeout_s=1e-6, fail_max=2, reset_timeout_s=60))
    job_id, _ = run_one(store, tmp_path, guards)

    job = store.get(job_id)
    assert job is not None
    assert (job.state, job.error_kind) == (JobState.QUEUED, TIMED_OUT)
    assert "over its" in (job.error or "")
    assert guards.engine.failures == 1


def test_runners_given_no_breakers_share_one_set_per_process(
    store: JobStore, tmp_path: Path
) -> None:
    # The BullMQ worker makes a runner per job: failures must still add up across jobs.
    first, second = (
        JobRunner(store, LocalStorage(tmp_path), WORKER, lease_ms=LEASE_MS, emit=lambda _: None)
        for _ in range(2)
    )
    assert first.breakers is second.breakers
    assert first.breakers.engine.config == BreakerConfig(300.0, 5, 60.0)


def test_a_job_asking_for_videos_and_vocals_gets_more_engine_time() -> None:
    def limit(**fields: object) -> float:
        request = GenerationRequest.model_validate({"prompt": "x", "duration_s": 120, **fields})
        return engine_time_limit_s(request, 300.0)

    assert limit() == 300.0
    three_videos = limit(generate_video=True, video_styles=["lyric", "spectrum", "waveform"])
    assert three_videos == 300.0 + 3 * 120 * VIDEO_ALLOWANCE_PER_AUDIO_S
    assert limit(lyrics="la la la") > limit()
