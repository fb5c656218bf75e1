"""Render once, place many times: note timing, velocity, and slice-adding sounds into buffers.

Buffers and sounds have time on the last axis (``(n,)`` mono or ``(2, n)`` stereo). Anything
that would land past the end of the buffer is dropped.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..score import TICKS_PER_BEAT, Note
from ._types import Audio
from .envelopes import fade_edges

TARGET_PEAK = 0.57
"""Peak of a normalised sound at full velocity; velocity 100 gives ~0.40."""

# Velocity buckets for brightness (timbre is cached per bucket; loudness is exact per note).
_BUCKET_EDGES = np.array([48, 80, 105])
_BUCKET_VELOCITY = (32, 64, 92, 116)

Ints = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class NoteArrays:
    """A part's notes as parallel arrays in sample units, sorted by start (stable)."""

    start: Ints
    duration: Ints
    pitch: Ints
    velocity: Ints

    def __len__(self) -> int:
        return int(self.start.size)


def note_arrays(notes: Sequence[Note], bpm: float, sample_rate: int) -> NoteArrays:
    """Convert ticks to samples: ``round(tick / TICKS_PER_BEAT * 60 / bpm * sample_rate)``.

    The duration is the rounded end minus the rounded start, so adjacent notes tile exactly.
    """
    if not notes:
        empty = np.zeros(0, dtype=np.int64)
        return NoteArrays(empty, empty, empty, empty)
    table = np.array(
        [(n.start_tick, n.end_tick, n.pitch, n.velocity) for n in notes], dtype=np.int64
    )
    start_s = table[:, 0] / TICKS_PER_BEAT * 60.0 / bpm
    end_s = table[:, 1] / TICKS_PER_BEAT * 60.0 / bpm
    start = np.rint(start_s * sample_rate).astype(np.int64)
    end = np.rint(end_s * sample_rate).astype(np.int64)
    order = np.argsort(start, kind="stable")
    return NoteArrays(
        start=np.maximum(start[order], 0),
        duration=np.maximum(end - start, 0)[order],
        pitch=table[order, 2],
        velocity=np.clip(table[order, 3], 1, 127),
    )


def velocity_gain(velocity: int) -> float:
    """Amplitude for a MIDI velocity 1–127: ``(v / 127) ** 1.5``."""
    return float((min(max(velocity, 1), 127) / 127.0) ** 1.5)


def velocity_bucket(velocity: int) -> int:
    """Brightness bucket 0–3 of a MIDI velocity."""
    return int(np.searchsorted(_BUCKET_EDGES, velocity, side="right"))


def bucket_brightness(bucket: int) -> float:
    """Brightness in (0, 1) used to render a velocity bucket."""
    return _BUCKET_VELOCITY[bucket] / 127.0


def stable_hash(text: str) -> int:
    """Process-independent hash of ``text`` (Python's ``hash`` is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))


def seeded_rng(seed: int, *keys: int) -> np.random.Generator:
    """Generator derived from the job seed and integer keys (part, sound, variant...)."""
    return np.random.default_rng([seed % 2**63, *(k % 2**32 for k in keys)])


def finish_sound(sound: Audio, fade_in: int, fade_out: int, norm_window: int, peak: float) -> Audio:
    """Fade the edges of a freshly rendered sound and scale its peak (first ``norm_window``
    samples) to ``peak``. Works in place when ``sound`` is already a C-ordered float32 array
    (recipes return fresh arrays); returns the result."""
    out = np.ascontiguousarray(sound, dtype=np.float32)
    if not out.flags.writeable:
        out = out.copy()
    fade_edges(out, fade_in, fade_out)
    top = float(np.abs(out[..., : max(norm_window, 1)]).max())
    if top > 0.0:
        out *= np.float32(peak / top)
    return out


def add_at(out: Audio, sound: Audio, start: int, gain: float) -> None:
    """``out[..., start:start+len] += gain * sound``, truncated at the end of ``out``."""
    length = min(sound.shape[-1], out.shape[-1] - start)
    if length > 0:
        out[..., start : start + length] += sound[..., :length] * np.float32(gain)


def add_gated(
    out: Audio, tone: Audio, start: int, duration: int, gain: float, release: Audio
) -> None:
    """Place a held ``tone`` for ``duration`` samples, then its continuation faded by
    ``release`` (shape ``(r,)``, falling to 0). A note longer than ``tone`` plays all of it
    (decaying voices end with a fade)."""
    n = out.shape[-1]
    length = tone.shape[-1]
    held = min(duration, length, n - start)
    if held > 0:
        out[..., start : start + held] += tone[..., :held] * np.float32(gain)
    if duration >= length:
        return
    tail = min(release.shape[0], length - duration, n - start - duration)
    if tail > 0:
        at = start + duration
        out[..., at : at + tail] += tone[..., duration : duration + tail] * (
            release[:tail] * np.float32(gain)
        )


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power (left, right) gains for ``pan`` in [-1, 1], normalised to 1 at centre."""
    angle = 0.25 * np.pi * (pan + 1.0)
    return float(np.cos(angle) * np.sqrt(2.0)), float(np.sin(angle) * np.sqrt(2.0))
