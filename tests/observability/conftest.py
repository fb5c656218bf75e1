"""Fixtures for the metrics and monitoring tests: real ``musewave serve`` processes (the
``start_server`` fixture of tests/service), ``promtool``, and reading ``/metrics`` back."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import in_ci
from tests.service.conftest import start_server
from tests.service.support import ServerProcess

__all__ = ["MONITORING", "Scrape", "promtool", "scrape", "start_server", "wait_until"]

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
WAIT_TIMEOUT_S = 30.0


@pytest.fixture(scope="session")
def promtool() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``promtool(*args, stdin=None)``: run promtool (from the Debian ``prometheus`` package,
    which scripts/test-services installs). Missing: skipped locally, failed in CI."""
    path = shutil.which("promtool")
    if path is None:
        message = (
            "promtool is not installed: run the tests through scripts/test-services (it "
            "installs the Debian package prometheus), as `make test` does"
        )
        if in_ci():
            pytest.fail(f"CI must run the promtool checks. {message}", pytrace=False)
        pytest.skip(message)

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [path, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
        )

    return run


@dataclass(frozen=True)
class Scrape:
    """One ``/metrics`` response: its text and every sample in it."""

    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sample ``name{labels}`` (exact label set), 0 when absent (never counted)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum of every ``name`` sample whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)

    @property
    def names(self) -> set[str]:
        """Every sample name (``_bucket``/``_sum``/``_count`` of histograms included)."""
        return {name for name, _ in self.samples}

    def label_values(self, name: str, label: str) -> set[str]:
        return {dict(ls)[label] for n, ls in self.samples if n == name and label in dict(ls)}


def scrape(server: ServerProcess) -> Scrape:
    return scrape_url(f"{server.base_url}/metrics")


def scrape_url(url: str) -> Scrape:
    """Any Prometheus endpoint of ours (the API's, or a ``musewave worker``'s own port)."""
    response = httpx.get(url, timeout=30.0)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"duplicate sample {key}"
            samples[key] = sample.value
    return Scrape(response.text, samples)


def wait_until(
    server: ServerProcess, condition: Callable[[Scrape], bool], timeout_s: float = WAIT_TIMEOUT_S
) -> Scrape:
    """Scrape until ``condition`` holds (a bounded poll: a gauge change has no event)."""
    deadline = time.monotonic() + timeout_s
    while True:
        current = scrape(server)
        if condition(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"/metrics never met the condition:\n{current.text}")
        time.sleep(0.1)
