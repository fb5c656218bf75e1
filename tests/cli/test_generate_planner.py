"""``musewave generate`` plans with the model ``MUSEWAVE_LLM_*`` name (an OpenAI-compatible
stand-in on loopback), says so, and refuses an incomplete configuration in one line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.support import musewave
from tests.planning.conftest import GOOD_DRAFT
from tests.planning.standins import ModelStandIn, Reply


def test_generate_plans_with_the_configured_model(tmp_path: Path) -> None:
    with ModelStandIn([Reply.plan(GOOD_DRAFT)]) as stand_in:
        env = {
            "MUSEWAVE_LLM_PROVIDER": "openai-compatible",
            "MUSEWAVE_LLM_MODEL": "local-model",
            "MUSEWAVE_LLM_BASE_URL": stand_in.openai_url,
        }
        args = ("generate", "harbor at night", "-d", "10", "--seed", "4", "-f", "wav")
        done = musewave(*args, "--json", "-o", str(tmp_path / "out"), env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert len(stand_in.seen) == 1
    summary = json.loads(done.stdout)
    assert summary["planner"] == "llm:openai-compatible:local-model"
    assert summary["title"] == "Harbor Lights"
    plan = json.loads((tmp_path / "out" / "plan.json").read_text())
    assert plan["planner"] == summary["planner"]


def test_an_incomplete_model_configuration_is_one_line(tmp_path: Path) -> None:
    env = {"MUSEWAVE_LLM_PROVIDER": "openai-compatible", "MUSEWAVE_LLM_MODEL": "m"}
    done = musewave("generate", "x", "-d", "10", "-o", str(tmp_path), env=env, cwd=tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "MUSEWAVE_LLM_BASE_URL" in line
