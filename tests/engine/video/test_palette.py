"""Palettes from the plan: genre hue, mood tint, section shifts, seed jitter."""

from __future__ import annotations

import colorsys

from musewave.engine.video.palette import (
    GENRE_HUES,
    SECTION_TINTS,
    section_palettes,
    seed_jitter_deg,
    track_palette,
)
from tests.engine.video.support import short_plan


def hue_deg(rgb: tuple[float, float, float]) -> float:
    return colorsys.rgb_to_hls(*rgb)[0] * 360


def lightness(rgb: tuple[float, float, float]) -> float:
    return colorsys.rgb_to_hls(*rgb)[1]


def hue_distance(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def test_every_genre_has_a_colour() -> None:
    from musewave.engine.genres import GENRES

    assert set(GENRES) <= set(GENRE_HUES)
    from musewave.engine.genres import SECTION_KINDS

    assert set(SECTION_KINDS) <= set(SECTION_TINTS)


def test_the_genre_sets_the_hue() -> None:
    for prompt, genre in (("lofi beats", "lofi"), ("deep house", "house")):
        plan = short_plan(prompt=prompt)
        assert plan.genre == genre
        accent = track_palette(plan).accents[0]
        assert hue_distance(hue_deg(accent), GENRE_HUES[genre].degrees) <= 13  # seed jitter


def test_moods_pull_the_colour_and_the_light() -> None:
    plain = track_palette(short_plan(prompt="synthwave", seed=4))
    dark = track_palette(short_plan(prompt="dark synthwave", seed=4))
    assert lightness(dark.top) < lightness(plain.top)
    assert hue_distance(hue_deg(dark.accents[0]), hue_deg(plain.accents[0])) > 5


def test_choruses_are_lighter_than_verses_and_bridges_turn_the_hue() -> None:
    plan = short_plan(prompt="uplifting pop song", seed=2)
    palettes = dict(zip((s.kind for s in plan.sections), section_palettes(plan), strict=False))
    assert lightness(palettes["chorus"].top) > lightness(palettes["verse"].top)
    if "bridge" in palettes:
        turn = hue_distance(hue_deg(palettes["bridge"].top), hue_deg(palettes["verse"].top))
        assert turn > 30


def test_seed_jitter_is_small_and_deterministic() -> None:
    values = [seed_jitter_deg(seed) for seed in range(50)]
    assert all(-12 <= v <= 12 for v in values)
    assert values == [seed_jitter_deg(seed) for seed in range(50)]
    assert len(set(values)) == 50


def test_mixing_palettes_goes_from_one_to_the_other() -> None:
    a, b = section_palettes(short_plan(prompt="uplifting pop song", seed=2))[:2]
    assert a.mix(b, 0.0) == a
    assert a.mix(b, 1.0).top == b.top
    middle = a.mix(b, 0.5).top
    assert all(min(x, y) <= m <= max(x, y) for x, y, m in zip(a.top, b.top, middle, strict=True))


def test_backgrounds_stay_dark_enough_for_light_text() -> None:
    for prompt in ("happy funk groove", "bright uplifting reggae", "dark techno"):
        for palette in section_palettes(short_plan(prompt=prompt)):
            r, g, b = palette.top
            assert 0.2126 * r + 0.7152 * g + 0.0722 * b <= 0.2 + 1e-9
