"""A job that fails on its own input: the error message, which may quote the person's words
(a lyric espeak-ng cannot read), is kept for the job's owner but never logged."""

from __future__ import annotations

from pathlib import Path

import pytest

from musewave.engine import GenerationRequest
from musewave.engine.errors import InvalidRequest
from musewave.jobs import JobState, JobStore
from musewave.jobs.local_scheduler import LocalScheduler
from musewave.jobs.runner import JobRunner
from musewave.resilience import Breakers
from musewave.storage import LocalStorage
from tests.conftest import LogLines

WORKER = "test-host:1:0"
LEASE_MS = 60_000
SECRET_WORD = "zqxjvurble"


def test_an_invalid_request_keeps_its_message_for_the_owner_out_of_the_logs(
    store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_lines: LogLines
) -> None:
    def unsingable(*args: object, **kwargs: object) -> None:
        raise InvalidRequest(f"cannot sing these lyrics: cannot pronounce {SECRET_WORD!r}")

    monkeypatch.setattr("musewave.jobs.runner.generate", unsingable)
    job, _ = store.enqueue(GenerationRequest(prompt="a sung tune", lyrics=SECRET_WORD))
    claimed = LocalScheduler(store).claim(WORKER, LEASE_MS)
    assert claimed is not None
    runner = JobRunner(
        store,
        LocalStorage(tmp_path / "assets"),
        WORKER,
        lease_ms=LEASE_MS,
        emit=lambda _: None,
        breakers=Breakers.create(),
    )

    assert runner.run(claimed) is JobState.FAILED  # bad input is not retried
    record = store.get(job.id)
    assert record is not None and SECRET_WORD in (record.error or "")
    [failed] = log_lines.where(event="job attempt failed")
    assert failed["error"].startswith("InvalidRequest (message sha256 ")
    assert SECRET_WORD not in "\n".join(str(line) for line in log_lines.all())
