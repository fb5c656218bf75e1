"""A worker that lost its job's lease (another took the job over) stops publishing progress:
the job's stream belongs to the attempt that holds it now."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from musewave.engine import GenerationRequest
from musewave.engine.errors import EngineError
from musewave.engine.progress import ProgressCallback, ProgressEvent
from musewave.jobs import JobEvent, JobStore
from musewave.jobs.local_scheduler import LocalScheduler
from musewave.jobs.runner import JobRunner
from musewave.resilience import Breakers
from musewave.storage import LocalStorage

WORKER, OTHER = "test-host:1:0", "test-host:2:0"
LEASE_MS = 60_000


def test_progress_after_a_lost_lease_is_not_published(
    store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, _ = store.enqueue(GenerationRequest(prompt="a tune"))
    claimed = LocalScheduler(store).claim(WORKER, LEASE_MS)
    assert claimed is not None

    def taken_over_midway(
        request: Any, out_dir: Any, on_progress: ProgressCallback, *_: Any, **__: Any
    ) -> None:
        on_progress(ProgressEvent("planning", 1.0, 0.5, "planning"))
        # The scheduler re-delivers the job to another worker, which starts attempt 2.
        assert store.begin_attempt(job.id, OTHER, claimed.attempts + 1, LEASE_MS) is not None
        on_progress(ProgressEvent("composing", 4.0, 0.5, "composing"))
        raise EngineError("this attempt goes on no further")

    monkeypatch.setattr("musewave.jobs.runner.generate", taken_over_midway)
    published: list[JobEvent] = []
    runner = JobRunner(
        store,
        LocalStorage(tmp_path / "assets"),
        WORKER,
        lease_ms=LEASE_MS,
        emit=published.append,
        breakers=Breakers.create(),
    )
    runner.run(claimed)

    progress = [(event.stage, event.attempt) for event in published if event.type == "progress"]
    assert progress == [("planning", claimed.attempts)]
    record = store.get(job.id)
    assert record is not None and record.worker_id == OTHER and record.stage != "composing"
