"""Audio renderer: turns a :class:`~musewave.engine.score.Score` into stereo stems.

Pure functions over numpy arrays; the sample rate is always passed explicitly. Each distinct
sound (voice, pitch, velocity bucket, seeded variant) is synthesised once and slice-added at
every note that uses it.
"""

from __future__ import annotations

from .kits import KITS
from .parts import render_part, render_stems, stem_names
from .voices import GATED_PATCHES, VOICE_TABLE

VOICES: frozenset[str] = frozenset(VOICE_TABLE)
"""Tonal voice ids accepted in ``Part.voice``."""

PLAN_VOICES: frozenset[str] = VOICES - frozenset(GATED_PATCHES.values())
"""Tonal voice ids a plan may choose: all but the gated patches, which the gate picks."""

DRUM_KITS: frozenset[str] = frozenset(KITS)
"""Drum kit ids accepted in ``Part.voice`` when ``Part.is_drums`` is true."""

__all__ = [
    "DRUM_KITS",
    "GATED_PATCHES",
    "PLAN_VOICES",
    "VOICES",
    "render_part",
    "render_stems",
    "stem_names",
]
