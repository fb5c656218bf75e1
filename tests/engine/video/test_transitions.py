"""Section changes on the time axis: which section, the wipe, the name's fade."""

from __future__ import annotations

import pytest

from musewave.engine.video.palette import section_palettes
from musewave.engine.video.transitions import LABEL_S, WIPE_S, SectionTimeline, smoothstep
from tests.engine.video.support import short_plan


def test_the_wipe_runs_from_the_boundary_for_its_length() -> None:
    plan = short_plan(10.0)
    timeline = SectionTimeline([s.start_s for s in plan.sections], section_palettes(plan))
    boundary = plan.sections[1].start_s
    before = timeline.at(boundary - 0.01)
    assert (before.index, before.previous, before.wipe) == (0, None, 1.0)
    during = timeline.at(boundary + WIPE_S / 2)
    assert (during.index, during.previous) == (1, 0)
    assert during.wipe == pytest.approx(0.5)
    halfway = timeline.palettes[0].mix(timeline.palettes[1], 0.5)
    assert during.palette.top == pytest.approx(halfway.top)
    after = timeline.at(boundary + WIPE_S + 1e-6)
    assert (after.index, after.previous) == (1, None)
    assert after.palette == timeline.palettes[1]


def test_the_section_name_fades_in_and_out() -> None:
    plan = short_plan(30.0)
    timeline = SectionTimeline([s.start_s for s in plan.sections], section_palettes(plan))
    start = plan.sections[1].start_s
    assert timeline.at(start).label_opacity == 0.0
    assert timeline.at(start + LABEL_S / 2).label_opacity == 1.0
    assert timeline.at(start + LABEL_S + 0.01).label_opacity == 0.0


def test_a_timeline_needs_a_palette_per_section() -> None:
    with pytest.raises(ValueError, match="one palette per section"):
        SectionTimeline([0.0, 1.0], section_palettes(short_plan())[:1])
    assert smoothstep(-1) == 0.0 and smoothstep(2) == 1.0 and smoothstep(0.5) == 0.5
