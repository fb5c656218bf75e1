"""Schemathesis against a real ``musewave serve``: every phase (examples, coverage, fuzzing,
stateful) and every check, with a user key and with an admin key. No answer may be a 5xx and
every answer must be what the OpenAPI document says (status, content type, headers, schema).

The run is bounded: a fixed seed and example count, one engine worker (the schema keeps each
track 30–120 s, so renders stay few), reports kept to the small JUnit file and a tally of
statuses written by ``hooks.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.support import musewave
from tests.service.support import ServerProcess, launch

HERE = Path(__file__).parent
SEED = 20_240_601
MIN_REQUESTS = 2_000
# Test cases per operation and phase: the admin run reaches every operation, the user run
# the ones a user may call (admin routes answer it 403).
EXAMPLES = {"admin": 60, "user": 30}
RUN_TIMEOUT_S = 600.0
REQUEST_TIMEOUT_S = 30.0


@dataclass
class Fuzzed:
    server: ServerProcess
    keys: dict[str, str]  # scope → secret
    work_dir: Path


@pytest.fixture
def fuzzed(tmp_path: Path) -> Iterator[Fuzzed]:
    """A server that needs a key for everything, with one user key and one admin key."""
    data_dir = tmp_path / "data"
    keys = {}
    for scope in ("user", "admin"):
        env = {"MUSEWAVE_DATA_DIR": str(data_dir)}
        made = musewave("keys", "create", "--name", f"fuzz-{scope}", "--scope", scope, env=env)
        assert made.returncode == 0, made.stderr
        keys[scope] = made.stdout.strip()
    env = {"MUSEWAVE_AUTH": "required", "MUSEWAVE_CONCURRENCY": "1"}
    server = launch(data_dir, tmp_path / "server.log", env)
    try:
        yield Fuzzed(server, keys, tmp_path)
    finally:
        server.stop()


def run_schemathesis(fuzzed: Fuzzed, scope: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``st run`` with ``scope``'s key; returns the finished process and the status tally."""
    tally = fuzzed.work_dir / f"tally-{scope}.txt"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{fuzzed.server.base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {fuzzed.keys[scope]}",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--max-examples",
        str(EXAMPLES[scope]),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--request-timeout",
        str(REQUEST_TIMEOUT_S),
        "--max-failures",
        "50",
        "--report",
        "junit",
        "--report-dir",
        str(fuzzed.work_dir / f"report-{scope}"),
        "--no-color",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HERE / "hooks.py"),
        "MUSEWAVE_FUZZ_TALLY": str(tally),
    }
    result = subprocess.run(
        command,
        cwd=fuzzed.work_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    return result, tally


def read_tally(path: Path) -> list[tuple[int, str]]:
    """(status, "METHOD /path/template") for each request a run made."""
    if not path.exists():
        return []
    answered = []
    for line in path.read_text(encoding="utf-8").splitlines():
        status, _, operation = line.partition(" ")
        answered.append((int(status), operation))
    return answered


def test_schemathesis_finds_no_server_error_and_no_schema_violation(fuzzed: Fuzzed) -> None:
    answered: list[tuple[int, str]] = []
    started = time.monotonic()
    for scope in ("admin", "user"):
        result, tally = run_schemathesis(fuzzed, scope)
        answered += read_tally(tally)
        assert result.returncode == 0, (
            f"schemathesis ({scope} key) found problems:\n{result.stdout[-20_000:]}\n"
            f"{result.stderr[-4_000:]}\nserver log:\n{fuzzed.server.log_tail()}"
        )
    elapsed_s = time.monotonic() - started
    statuses = Counter(status for status, _ in answered)
    histogram = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    print(f"\nschemathesis: {len(answered)} requests in {elapsed_s:.0f} s; {histogram}")
    server_errors = [(status, op) for status, op in answered if status >= 500]
    assert not server_errors, server_errors[:20]
    assert len(answered) >= MIN_REQUESTS, histogram
    assert fuzzed.server.running(), fuzzed.server.log_tail()
