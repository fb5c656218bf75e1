"""Audio renderer: turns a :class:`~musewave.engine.score.Score` into stereo stems.

Pure functions over numpy arrays; the sample rate is always passed explicitly. Each distinct
sound (voice, pitch, velocity bucket, seeded variant) is synthesised once and slice-added at
every note that uses it.
"""

from __future__ import annotations

from .kits import KITS
from .parts import render_part, render_stems, stem_names
from .voices import VOICE_TABLE

VOICES: frozenset[str] = frozenset(VOICE_TABLE)
"""Tonal voice ids accepted in ``Part.voice``."""

DRUM_KITS: frozenset[str] = frozenset(KITS)
"""Drum kit ids accepted in ``Part.voice`` when ``Part.is_drums`` is true."""

__all__ = ["DRUM_KITS", "VOICES", "render_part", "render_stems", "stem_names"]
