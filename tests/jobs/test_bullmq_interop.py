"""Interoperability with Node.js BullMQ: our queue is plain BullMQ that Node clients and
dashboards can read and feed.

Uses the npm ``bullmq`` pinned in ``tests/interop/node`` (6.4.0: the release whose Lua
scripts the Python bullmq 3.4.4 package ships, byte for byte), installed with ``npm ci`` on
first use. Without node/npm the tests are skipped locally and fail in CI.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bullmq import Queue, Worker

from musewave.config import Settings
from musewave.db import upgrade
from musewave.engine.request import GenerationRequest
from musewave.jobs import open_queue, open_store
from musewave.jobs.bullmq_backend import job_payload
from musewave.jobs.bullmq_options import (
    BACKOFF_TYPE,
    JOB_NAME,
    queue_options,
    worker_options,
)
from musewave.jobs.bullmq_worker import JobProcessor
from musewave.jobs.states import JobState, Priority
from musewave.storage import LocalStorage
from tests.conftest import npm_installed

NODE_DIR = Path(__file__).resolve().parents[1] / "interop" / "node"
NODE_TIMEOUT_S = 60


@pytest.fixture(scope="session")
def node_client() -> Path:
    """``tests/interop/node`` with its npm packages installed (``npm ci`` when needed)."""
    return npm_installed(NODE_DIR) / "bullmq_client.mjs"


def node(client: Path, *args: str) -> Any:
    """Run the Node.js BullMQ client; returns its JSON answer."""
    done = subprocess.run(
        ["node", str(client), *args],
        cwd=client.parent,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
    )
    assert done.returncode == 0, f"node {' '.join(args[:1])} failed:\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    current = Settings(
        redis_url=redis_url,
        queue_name=f"test-interop-{uuid.uuid4().hex[:10]}",
        data_dir=tmp_path,
        rate_limit_per_s=1000,
    )
    upgrade(current.resolved_database_url)
    yield current
    asyncio.run(_obliterate(current))


async def _obliterate(settings: Settings) -> None:
    queue = Queue(settings.queue_name, queue_options(settings))
    try:
        await queue.obliterate(force=True)
    finally:
        await queue.close()


def request(prompt: str) -> GenerationRequest:
    return GenerationRequest.model_validate(
        {"prompt": prompt, "duration_s": 30, "seed": 11, "formats": ["wav"]}
    )


def test_node_bullmq_reads_a_job_we_enqueued(node_client: Path, settings: Settings) -> None:
    with open_queue(settings) as queue:
        job, _ = queue.enqueue(
            request("late night jazz trio"), priority=Priority.HIGH, request_id="req-interop-1"
        )

    seen = node(node_client, "get", settings.redis_url or "", settings.queue_name, job.id)

    assert seen["id"] == job.id
    assert seen["name"] == JOB_NAME
    assert seen["state"] == "prioritized"
    assert seen["data"]["job_id"] == job.id
    assert seen["data"]["request"]["prompt"] == "late night jazz trio"
    assert seen["data"]["request"]["seed"] == 11
    assert seen["data"]["request_id"] == "req-interop-1"
    assert seen["priority"] == seen["opts"]["priority"] == 1
    assert seen["opts"]["attempts"] == 4
    assert seen["opts"]["backoff"] == {"type": BACKOFF_TYPE}


def test_job_added_by_node_bullmq_is_completed_by_our_worker(
    node_client: Path, settings: Settings
) -> None:
    """Our worker runs jobs a Node.js producer adds, as long as the job's database row exists
    (the database is the system of record); a job with no row fails at once, unretried."""
    with open_store(settings) as database:
        record, _ = database.enqueue(request("node says hello"))  # the row only, not in BullMQ
        stranger = f"no-row-{uuid.uuid4().hex[:8]}"
        node_options = {"priority": 2, "attempts": 4, "backoff": {"type": BACKOFF_TYPE}}
        for job_id, payload in ((record.id, job_payload(record)), (stranger, {"job_id": stranger})):
            added = node(
                node_client,
                "add",
                settings.redis_url or "",
                settings.queue_name,
                JOB_NAME,
                json.dumps(payload),
                json.dumps({**node_options, "jobId": job_id}),
            )
            assert added == {"id": job_id}

        async def run_worker_until_settled() -> None:
            storage = LocalStorage(settings.storage_dir)
            processor = JobProcessor(settings, database, storage, "interop-host:1:0")
            worker = Worker(
                settings.queue_name, processor.process, worker_options(settings, name="interop")
            )
            queue = Queue(settings.queue_name, queue_options(settings))
            try:
                deadline = time.monotonic() + 120
                while {
                    await queue.getJobState(record.id),
                    await queue.getJobState(stranger),
                } != {"completed", "failed"}:
                    assert time.monotonic() < deadline, "the worker did not settle both jobs"
                    await asyncio.sleep(0.05)  # BullMQ state is polled: no event for it here
            finally:
                await worker.close()
                await queue.close()

        asyncio.run(run_worker_until_settled())
        finished = database.get(record.id)

    done = node(node_client, "get", settings.redis_url or "", settings.queue_name, record.id)
    refused = node(node_client, "get", settings.redis_url or "", settings.queue_name, stranger)
    assert done["state"] == "completed"
    assert done["returnvalue"] == {"state": "completed"}
    assert finished is not None and finished.state is JobState.COMPLETED
    assert {asset.kind for asset in finished.assets} >= {"mix"}
    assert refused["state"] == "failed"
    assert refused["attemptsMade"] == 1
    assert "not in the database" in refused["failedReason"]
