"""Bull Board watches our production queue: npm ``@bull-board/api`` with its BullMQ adapter
(the board's own ``GET /api/queues`` handler, its response schema checked) lists a real
server's jobs, finished, running and waiting, with their payloads.

The Node.js side is ``tests/interop/node/bull_board.mjs`` (packages pinned in that folder's
lock, installed with ``npm ci`` on first use)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import npm_installed
from tests.service.conftest import StartServer
from tests.service.support import WsWatcher, busy_worker, submit, track

NODE_DIR = Path(__file__).resolve().parents[1] / "interop" / "node"
NODE_TIMEOUT_S = 60


def bull_board_queues(node_dir: Path, redis_url: str, queue_name: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", "bull_board.mjs", redis_url, queue_name],
        cwd=node_dir,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_bull_board_lists_our_queue_and_its_payloads(start_server: StartServer) -> None:
    node_dir = npm_installed(NODE_DIR)  # first: an npm install must not outlast the busy job
    server = start_server(backend="bullmq", MUSEWAVE_CONCURRENCY="1")
    redis_url, queue_name = server.env["MUSEWAVE_REDIS_URL"], server.env["MUSEWAVE_QUEUE_NAME"]
    with server.client() as client:
        finished = submit(client, track("bull board, finished", seed=5))
        with WsWatcher(server, finished["id"]) as watcher:
            assert watcher.wait_done()[-1]["type"] == "completed"
        with busy_worker(server, client) as running_id:
            waiting = submit(client, track("bull board, waiting", priority="high"))
            answer = bull_board_queues(node_dir, redis_url, queue_name)

    assert "error" not in answer.get("body", {}), answer  # the board's schema took our jobs
    [queue] = answer["body"]["queues"]
    assert queue["name"] == queue_name and queue["type"] == "bullmq"
    assert queue["hasWorkers"] is True  # our Python workers, seen as Node.js names them
    counts = queue["counts"]
    assert (counts["completed"], counts["active"]) == (1, 1)
    assert counts["waiting"] + counts.get("prioritized", 0) == 1
    jobs = {job["id"]: job for job in queue["jobs"]}
    assert set(jobs) == {finished["id"], running_id, waiting["id"]}
    for job_id, job in jobs.items():
        assert job["name"] == "generate"
        assert job["data"]["job_id"] == job_id
        assert job["opts"]["attempts"] == 4
    assert jobs[waiting["id"]]["data"]["request"]["prompt"] == waiting["request"]["prompt"]
    assert jobs[finished["id"]]["data"]["request"]["seed"] == 5
    assert jobs[finished["id"]]["finishedOn"] and not jobs[finished["id"]]["isFailed"]
    assert jobs[running_id]["processedOn"] and jobs[running_id]["progress"]
