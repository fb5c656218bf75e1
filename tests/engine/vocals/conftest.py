"""Shared plans for the vocals tests."""

from __future__ import annotations

import pytest

from musewave.engine.plan import Plan, make_plan
from musewave.engine.request import GenerationRequest


def plan_for(**fields: object) -> Plan:
    defaults: dict[str, object] = {"prompt": "bright pop about the ocean", "seed": 5}
    request = GenerationRequest.model_validate(
        {**defaults, **fields}, context={"duration_range_s": (5.0, 300.0)}
    )
    return make_plan(request)


@pytest.fixture(scope="package")
def pop_plan() -> Plan:
    """A 30 s pop song: intro, verse, pre, chorus, bridge, outro at about 120 BPM."""
    return plan_for(genres=["pop"], duration_s=30, bpm=120, key="C major")
