"""Multiprocess mode as a ``musewave worker`` parent uses it: children's counts add up in the
parent's ``/metrics``, a dead child stops counting as alive but keeps its counts, and the
directory must be chosen before prometheus-client is first used."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import httpx
import pytest

from musewave.observability import metrics

REPO = Path(__file__).resolve().parents[2]


def child_main(opens_breaker: bool, done: mp.Queue[int], stay: EventType) -> None:
    """A worker: alive, one completed attempt, one retried; maybe an open breaker."""
    metrics.worker_process_started()
    metrics.job_completed(2.0, {"rendering": 0.5, "mixing": 1.0}, audio_s=30.0)
    metrics.job_attempt_finished("queued", 0.1)
    if opens_breaker:
        metrics.count_breaker_failure("engine")
        metrics.set_breaker_open("engine", True)
    done.put(mp.current_process().pid or 0)
    if opens_breaker:
        stay.wait(60)


def parent_main(directory: str) -> None:
    """A worker parent: two children (one exits, one stays), then /metrics until stdin ends."""
    metrics.prepare_multiprocess_dir(Path(directory))
    context = mp.get_context("spawn")
    done: mp.Queue[int] = context.Queue()
    stay = context.Event()
    leaving = context.Process(target=child_main, args=(False, done, stay))
    staying = context.Process(target=child_main, args=(True, done, stay))
    for child in (leaving, staying):
        child.start()
    done.get(timeout=60), done.get(timeout=60)
    leaving.join()
    metrics.mark_process_dead(leaving.pid or 0)
    server, _ = metrics.serve_worker_metrics("127.0.0.1", 0)
    print(server.server_port, flush=True)
    sys.stdin.read()  # the test closes stdin when it is done
    stay.set()
    staying.join()
    server.shutdown()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    # Imported here: the worker parent imports this module and must choose its metrics
    # directory before prometheus-client is imported.
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_worker_parent_serves_the_sum_of_its_children(tmp_path: Path) -> None:
    code = f"from {__name__} import parent_main; parent_main({str(tmp_path / 'metrics')!r})"
    parent = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None and parent.stdin is not None
        port = int(parent.stdout.readline())
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        parent.stdin.close()
        assert parent.wait(60) == 0
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()

    assert response.status_code == 200
    values = samples(response.text)
    assert values[("musewave_jobs_completed_total", ())] == 2  # the exited child's count stays
    assert values[("musewave_jobs_retried_total", ())] == 2
    assert values[("musewave_job_stage_duration_seconds_count", (("stage", "mixing"),))] == 2
    assert values[("musewave_engine_realtime_factor_sum", ())] == 2 * 15.0
    assert values[("musewave_worker_processes", ())] == 1  # only the child still running
    assert values[("musewave_circuit_breaker_open", (("breaker", "engine"),))] == 1
    assert values[("musewave_circuit_breaker_open", (("breaker", "encoder"),))] == 0
    assert values[("musewave_circuit_breaker_failures_total", (("breaker", "engine"),))] == 1
    assert ("process_cpu_seconds_total", ()) in values  # the parent's own process facts


def test_directory_must_be_chosen_before_prometheus_client_is_used(tmp_path: Path) -> None:
    # This test process has used prometheus-client (the parser) in single-process mode.
    with pytest.raises(RuntimeError, match="before the multiprocess directory"):
        metrics.prepare_multiprocess_dir(tmp_path / "late")


def test_http_labels_never_grow_with_paths_or_methods() -> None:
    before = metrics.exposition()[0].decode()
    metrics.http_request("BREW", None, 404, 1.0)
    after = samples(metrics.exposition()[0].decode())
    key = (
        "musewave_http_requests_total",
        (("method", "other"), ("route", "unmatched"), ("status", "404")),
    )
    assert after[key] == samples(before).get(key, 0) + 1
