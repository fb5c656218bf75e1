"""A job planned by the LLM planner (a loopback stand-in of OpenAI's protocol) and one whose
model fails: each records its planner in ``plan.json``, in the job record and in the job view,
and a model outage still completes the job, with the rules' plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from musewave.engine import GenerationRequest
from musewave.engine.request import CLI_DURATION_RANGE_S, DURATION_RANGE_CONTEXT
from musewave.jobs import JobState, JobStore
from musewave.jobs.local_scheduler import LocalScheduler
from musewave.jobs.runner import JobRunner
from musewave.planning import Planner
from musewave.resilience import Breaker, BreakerConfig, Breakers
from musewave.service.schemas import JobView
from musewave.storage import LocalStorage
from tests.planning.conftest import GOOD_DRAFT, MODEL, make_client
from tests.planning.standins import ModelStandIn, Reply

WORKER = "test-host:1:0"
LEASE_MS = 60_000


@pytest.fixture
def stand_in() -> Iterator[ModelStandIn]:
    with ModelStandIn() as server:
        yield server


def run_job(store: JobStore, tmp_path: Path, planner: Planner) -> JobView:
    request = GenerationRequest.model_validate(
        {"prompt": "harbor lights at night", "duration_s": 10, "seed": 3, "formats": ["wav"]},
        context={DURATION_RANGE_CONTEXT: CLI_DURATION_RANGE_S},
    )
    job, _ = store.enqueue(request)
    claimed = LocalScheduler(store).claim(WORKER, LEASE_MS)
    assert claimed is not None
    runner = JobRunner(
        store,
        LocalStorage(tmp_path / "assets"),
        WORKER,
        lease_ms=LEASE_MS,
        emit=lambda _: None,
        breakers=Breakers.create(),
        planner=planner,
    )
    assert runner.run(claimed) is JobState.COMPLETED
    record = store.get(job.id)
    assert record is not None
    return JobView.of(record)


def plan_json(tmp_path: Path, view: JobView) -> dict[str, object]:
    [asset] = [a for a in view.assets if a.name == "plan.json"]
    data: dict[str, object] = json.loads((tmp_path / "assets" / view.id / "plan.json").read_text())
    assert asset.kind == "plan"
    return data


def llm_planner(stand_in: ModelStandIn) -> Planner:
    breaker = Breaker("llm", BreakerConfig(call_timeout_s=5.0, fail_max=3, reset_timeout_s=60.0))
    return Planner(make_client("openai-compatible", stand_in), breaker)


def test_a_job_records_the_llm_planner_in_its_plan_and_view(
    store: JobStore, tmp_path: Path, stand_in: ModelStandIn
) -> None:
    stand_in.answer(Reply.plan(GOOD_DRAFT))
    planner = llm_planner(stand_in)
    view = run_job(store, tmp_path, planner)
    planner.close()

    label = f"llm:openai-compatible:{MODEL}"
    assert view.planner == label
    plan = plan_json(tmp_path, view)
    assert (plan["planner"], plan["genre"], plan["title"]) == (label, "synthwave", "Harbor Lights")
    assert view.model_dump(mode="json")["planner"] == label


def test_a_job_whose_model_fails_completes_with_the_rules_plan(
    store: JobStore, tmp_path: Path, stand_in: ModelStandIn
) -> None:
    stand_in.answer(Reply("status", 503))
    planner = llm_planner(stand_in)
    view = run_job(store, tmp_path, planner)
    planner.close()

    assert view.state is JobState.COMPLETED
    assert view.planner == "rules"
    assert plan_json(tmp_path, view)["planner"] == "rules"
