"""Colours from the plan: a genre's hue, moved by the prompt's moods, lit by the plan's
brightness and saturated by its energy; each section kind shifts the track's palette a little.

The video and the cover art share these palettes, so a track's pictures look like one family.
Colours are RGB floats in 0–1 until a renderer converts them.
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from musewave.engine.plan import Plan

RGB = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Hue:
    """A genre's colour: hue in degrees (0 red, 120 green, 240 blue) and saturation 0–1."""

    degrees: float
    saturation: float


# Colours the genres are commonly dressed in (album art, playlists, club lighting).
GENRE_HUES: Mapping[str, Hue] = MappingProxyType(
    {
        "lofi": Hue(28, 0.45),
        "hiphop": Hue(45, 0.55),
        "trap": Hue(275, 0.65),
        "house": Hue(190, 0.7),
        "techno": Hue(220, 0.5),
        "synthwave": Hue(310, 0.8),
        "dnb": Hue(150, 0.7),
        "ambient": Hue(200, 0.35),
        "pop": Hue(335, 0.7),
        "rock": Hue(5, 0.65),
        "jazz": Hue(38, 0.5),
        "cinematic": Hue(210, 0.4),
        "piano": Hue(230, 0.25),
        "reggae": Hue(100, 0.7),
        "reggaeton": Hue(15, 0.8),
        "funk": Hue(50, 0.8),
        "afrobeats": Hue(32, 0.8),
    }
)
DEFAULT_HUE = Hue(260, 0.5)


@dataclass(frozen=True, slots=True)
class MoodTint:
    """How a mood word pulls the colour: toward ``hue`` (degrees) by ``pull`` (0–1), and
    lightness/saturation shifts."""

    hue: float
    pull: float
    lightness: float = 0.0
    saturation: float = 0.0


MOOD_TINTS: Mapping[str, MoodTint] = MappingProxyType(
    {
        "dark": MoodTint(260, 0.3, -0.12, -0.1),
        "sad": MoodTint(220, 0.5, -0.08, -0.2),
        "melancholic": MoodTint(230, 0.4, -0.06, -0.15),
        "melancholy": MoodTint(230, 0.4, -0.06, -0.15),
        "moody": MoodTint(250, 0.3, -0.08, -0.05),
        "haunting": MoodTint(180, 0.35, -0.1, -0.15),
        "mysterious": MoodTint(270, 0.35, -0.08, 0.0),
        "happy": MoodTint(50, 0.4, 0.08, 0.1),
        "uplifting": MoodTint(45, 0.35, 0.1, 0.1),
        "joyful": MoodTint(55, 0.4, 0.08, 0.15),
        "bright": MoodTint(55, 0.25, 0.12, 0.1),
        "hopeful": MoodTint(140, 0.25, 0.06, 0.0),
        "romantic": MoodTint(345, 0.4, 0.0, 0.05),
        "epic": MoodTint(25, 0.25, 0.0, 0.1),
        "intense": MoodTint(0, 0.35, -0.02, 0.15),
        "aggressive": MoodTint(0, 0.45, -0.05, 0.2),
        "energetic": MoodTint(20, 0.2, 0.04, 0.15),
        "chill": MoodTint(190, 0.3, 0.0, -0.1),
        "relaxed": MoodTint(170, 0.3, 0.02, -0.1),
        "calm": MoodTint(195, 0.35, 0.02, -0.15),
        "peaceful": MoodTint(160, 0.35, 0.04, -0.15),
        "dreamy": MoodTint(290, 0.35, 0.04, -0.05),
        "nostalgic": MoodTint(30, 0.35, -0.02, -0.1),
        "groovy": MoodTint(40, 0.2, 0.02, 0.1),
    }
)


@dataclass(frozen=True, slots=True)
class SectionTint:
    """How a section kind moves the track's palette: hue turn (degrees), lightness shift."""

    hue: float
    lightness: float


# Choruses and drops light up; bridges turn the colour; intros and outros stay dim.
SECTION_TINTS: Mapping[str, SectionTint] = MappingProxyType(
    {
        "intro": SectionTint(0, -0.05),
        "verse": SectionTint(0, 0.0),
        "pre": SectionTint(15, 0.02),
        "chorus": SectionTint(-20, 0.07),
        "hook": SectionTint(-20, 0.07),
        "build": SectionTint(20, 0.03),
        "drop": SectionTint(-30, 0.1),
        "breakdown": SectionTint(50, -0.03),
        "bridge": SectionTint(60, 0.0),
        "solo": SectionTint(-40, 0.05),
        "groove": SectionTint(0, 0.02),
        "outro": SectionTint(0, -0.06),
    }
)

ACCENT_TURNS_DEG = (0.0, 35.0, -150.0)  # the accents: the hue, a neighbour, a contrast


@dataclass(frozen=True, slots=True)
class Palette:
    """A set of colours (RGB, 0–1): a vertical background gradient (``top`` to ``bottom``),
    three ``accents`` (main, neighbour, contrast), ``text`` and ``dim_text`` for unsung
    words, ``highlight`` for sung ones."""

    top: RGB
    bottom: RGB
    accents: tuple[RGB, RGB, RGB]
    text: RGB
    dim_text: RGB
    highlight: RGB

    def mix(self, other: Palette, fraction: float) -> Palette:
        """``self`` moved ``fraction`` (0–1) of the way to ``other``, colour by colour."""

        def lerp(a: RGB, b: RGB) -> RGB:
            return (
                a[0] + (b[0] - a[0]) * fraction,
                a[1] + (b[1] - a[1]) * fraction,
                a[2] + (b[2] - a[2]) * fraction,
            )

        return Palette(
            top=lerp(self.top, other.top),
            bottom=lerp(self.bottom, other.bottom),
            accents=(
                lerp(self.accents[0], other.accents[0]),
                lerp(self.accents[1], other.accents[1]),
                lerp(self.accents[2], other.accents[2]),
            ),
            text=lerp(self.text, other.text),
            dim_text=lerp(self.dim_text, other.dim_text),
            highlight=lerp(self.highlight, other.highlight),
        )


def _hls(hue_deg: float, lightness: float, saturation: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(
        (hue_deg % 360.0) / 360.0,
        float(np.clip(lightness, 0.0, 1.0)),
        float(np.clip(saturation, 0.0, 1.0)),
    )
    return (r, g, b)


def _turn_toward(hue: float, target: float, pull: float) -> float:
    """``hue`` turned ``pull`` of the short way round toward ``target`` (degrees)."""
    delta = (target - hue + 180.0) % 360.0 - 180.0
    return hue + delta * pull


@dataclass(frozen=True, slots=True)
class _Base:
    hue: float
    saturation: float
    lightness: float


def _base(plan: Plan, seed_jitter_deg: float) -> _Base:
    genre = GENRE_HUES.get(plan.genre, DEFAULT_HUE)
    hue, saturation = genre.degrees, genre.saturation
    lightness = 0.12 + 0.14 * plan.brightness
    for mood in plan.moods:
        tint = MOOD_TINTS.get(mood)
        if tint is not None:
            hue = _turn_toward(hue, tint.hue, tint.pull)
            lightness += tint.lightness * 0.5
            saturation += tint.saturation
    saturation = saturation * (0.7 + 0.5 * plan.energy)
    return _Base(
        hue + seed_jitter_deg,
        float(np.clip(saturation, 0.15, 0.95)),
        float(np.clip(lightness, 0.06, 0.32)),
    )


MAX_BACKGROUND_LUMA = 0.2  # light text must stay readable: yellows are bright at any lightness


def _at_most_luma(colour: RGB, luma: float) -> RGB:
    """``colour`` darkened (same hue and saturation) until its BT.709 luma is at most ``luma``."""
    r, g, b = colour
    current = 0.2126 * r + 0.7152 * g + 0.0722 * b
    if current <= luma:
        return colour
    scale = luma / current
    return (r * scale, g * scale, b * scale)


def _palette(base: _Base, tint: SectionTint) -> Palette:
    hue = base.hue + tint.hue
    light = base.lightness + tint.lightness
    sat = base.saturation
    accents = tuple(
        _hls(hue + turn, 0.58 + 0.1 * tint.lightness / 0.1, min(1.0, sat + 0.25))
        for turn in ACCENT_TURNS_DEG
    )
    return Palette(
        top=_at_most_luma(_hls(hue + 10.0, light + 0.06, sat), MAX_BACKGROUND_LUMA),
        bottom=_at_most_luma(
            _hls(hue - 15.0, max(0.03, light - 0.1), sat * 0.9), MAX_BACKGROUND_LUMA * 0.6
        ),
        accents=(accents[0], accents[1], accents[2]),
        text=_hls(hue, 0.95, 0.25),
        dim_text=_hls(hue, 0.7, 0.15),
        highlight=_hls(hue + ACCENT_TURNS_DEG[2], 0.68, min(1.0, sat + 0.35)),
    )


def seed_jitter_deg(seed: int) -> float:
    """A small hue turn (±12°) from the seed: two seeds of one prompt differ a little."""
    return float(np.random.default_rng([seed, 0xC010]).uniform(-12.0, 12.0))


def track_palette(plan: Plan) -> Palette:
    """The palette of the whole track (the cover's, and the verse's)."""
    return _palette(_base(plan, seed_jitter_deg(plan.seed)), SectionTint(0.0, 0.0))


def section_palettes(plan: Plan) -> list[Palette]:
    """One palette per section of ``plan``, in order."""
    base = _base(plan, seed_jitter_deg(plan.seed))
    return [
        _palette(base, SECTION_TINTS.get(section.kind, SectionTint(0.0, 0.0)))
        for section in plan.sections
    ]


def brighten(colour: RGB, amount: float) -> RGB:
    """``colour`` moved ``amount`` (0–1) of the way toward white."""
    return (
        colour[0] + (1.0 - colour[0]) * amount,
        colour[1] + (1.0 - colour[1]) * amount,
        colour[2] + (1.0 - colour[2]) * amount,
    )


def to_uint8(colour: RGB) -> tuple[int, int, int]:
    """``colour`` as 8-bit RGB."""
    r, g, b = (round(255 * min(1.0, max(0.0, c))) for c in colour)
    return (r, g, b)


def gradient(top: RGB, bottom: RGB, n: int) -> npt.NDArray[np.float32]:
    """``n`` colours from ``top`` to ``bottom``: float32 (n, 3), RGB 0–1."""
    fraction = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    a = np.asarray(top, dtype=np.float32)
    b = np.asarray(bottom, dtype=np.float32)
    return a + (b - a) * fraction
