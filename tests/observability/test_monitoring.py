"""deploy/monitoring against the real exposition: promtool accepts the metrics of a real
``musewave serve``, the scrape config and the alert rules (whose unit tests pass), and every
metric the rules and dashboards use is one the code exports."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml

from tests.observability.conftest import MONITORING, Scrape, scrape
from tests.service.support import WsWatcher, get_job, is_terminal, launch, submit, track

Promtool = Callable[..., CompletedProcess[str]]

DASHBOARDS = sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))
# The series issue 5 names, each with the type its suffix implies.
REQUIRED = {
    "counter": [
        f"musewave_jobs_{o}_total"
        for o in ("enqueued", "completed", "failed", "retried", "dead", "cancelled")
    ]
    + [
        "musewave_cache_hits_total",
        "musewave_cache_misses_total",
        "musewave_circuit_breaker_failures_total",
        "musewave_http_requests_total",
    ],
    "gauge": [
        f"musewave_queue_{s}" for s in ("waiting", "active", "delayed", "completed", "failed")
    ]
    + ["musewave_circuit_breaker_open", "musewave_websocket_connections"],
    "histogram": [
        "musewave_job_duration_seconds",
        "musewave_job_stage_duration_seconds",
        "musewave_http_request_duration_seconds",
        "musewave_engine_realtime_factor",
    ],
}
METRIC_NAME = re.compile(r"\b((?:musewave|process|python)_[a-z0-9_]+)")
# Series Prometheus itself adds to every scraped target.
SCRAPE_SERIES = {"up"}


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrape]:
    """``/metrics`` of a real server after a job ran, its view was read twice (a cache miss,
    then a hit) and a WebSocket followed it."""
    root = tmp_path_factory.mktemp("monitoring")
    server = launch(root / "data", root / "server.log", {"MUSEWAVE_CONCURRENCY": "1"})
    try:
        with server.client() as client:
            job_id = submit(client, track("exposition"))["id"]
            with WsWatcher(server, job_id) as watcher:
                assert watcher.wait_for(is_terminal)["type"] == "completed"
            get_job(client, job_id)
            get_job(client, job_id)
        yield scrape(server)
    finally:
        server.stop()


def rule_expressions() -> list[str]:
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def dashboard_panels(path: Path) -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = json.loads(path.read_text())["panels"]
    return panels


def dashboard_expressions() -> dict[str, list[str]]:
    return {
        path.name: [t["expr"] for p in dashboard_panels(path) for t in p["targets"]]
        for path in DASHBOARDS
    }


def test_exposition_passes_promtool_check_metrics(exposition: Scrape, promtool: Promtool) -> None:
    result = promtool("check", "metrics", stdin=exposition.text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() == ""
    # Every family once, with the names and types, and the process/GC facts.
    types = re.findall(r"^# TYPE (\S+) (\S+)$", exposition.text, flags=re.MULTILINE)
    assert len(types) == len({name for name, _ in types}), "a metric family appears twice"
    declared = dict(types)
    for kind, names in REQUIRED.items():
        for name in names:
            assert declared.get(name) == kind, (name, declared.get(name))
    for name in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "python_gc_collections_total",
    ):
        assert name in declared, name


def test_scrape_config_and_alert_rules_are_valid(promtool: Promtool) -> None:
    config = promtool("check", "config", str(MONITORING / "prometheus.yml"))
    assert config.returncode == 0, config.stdout + config.stderr
    assert "1 rule files found" in config.stdout  # alerts.yml is loaded from the config
    rules = promtool("check", "rules", str(MONITORING / "alerts.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 6 rules found" in rules.stdout


def test_alert_rules_pass_their_unit_tests(promtool: Promtool) -> None:
    result = promtool("test", "rules", str(MONITORING / "tests" / "alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(
        re.findall(r"alertname: (\w+)", (MONITORING / "tests" / "alerts_test.yml").read_text())
    )
    alerts = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"][0]["rules"]
    assert tested == {rule["alert"] for rule in alerts}, "every alert has a unit test"


def test_rules_and_dashboards_use_only_exported_metrics(exposition: Scrape) -> None:
    used = {"alerts.yml": rule_expressions(), **dashboard_expressions()}
    for source, expressions in used.items():
        for expression in expressions:
            names = set(METRIC_NAME.findall(expression))
            names |= SCRAPE_SERIES & set(re.findall(r"\b(\w+)\{", expression))
            assert names, f"{source}: no metric in {expression!r}"
            unknown = names - exposition.names - SCRAPE_SERIES
            assert not unknown, f"{source} uses {sorted(unknown)}, which /metrics does not export"


def test_dashboard_queries_are_valid_promql(promtool: Promtool, tmp_path: Path) -> None:
    # promtool has no query linter; as recording rules, the queries are parsed in full.
    queries = [expr for exprs in dashboard_expressions().values() for expr in exprs]
    rules = [{"record": f"dashboard:query_{n}", "expr": expr} for n, expr in enumerate(queries)]
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_are_provisioned_with_their_data_source() -> None:
    titles = {path.stem for path in DASHBOARDS}
    assert titles == {
        "system-overview",
        "application-performance",
        "queue-health",
        "cache-performance",
        "circuit-breakers",
    }
    datasources = yaml.safe_load(
        (MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    [source] = datasources["datasources"]
    providers = yaml.safe_load(
        (MONITORING / "grafana" / "provisioning" / "dashboards" / "musewave.yml").read_text()
    )
    assert [p["type"] for p in providers["providers"]] == ["file"]
    uids = [json.loads(path.read_text())["uid"] for path in DASHBOARDS]
    assert len(set(uids)) == len(uids)
    for path in DASHBOARDS:
        panels = dashboard_panels(path)
        assert panels, path.name
        assert len({p["id"] for p in panels}) == len(panels), path.name
        for panel in panels:
            assert panel["targets"], (path.name, panel["title"])
            refs = [panel["datasource"]] + [t["datasource"] for t in panel["targets"]]
            assert all(ref["uid"] == source["uid"] for ref in refs), (path.name, panel["title"])
