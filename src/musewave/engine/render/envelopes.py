"""Amplitude envelopes, shape ``(n,)`` float32. Times are in seconds; ``t60_s`` means -60 dB."""

from __future__ import annotations

import numpy as np

from ._types import Audio, as_audio

_LN_1000 = float(np.log(1000.0))


def seconds_to_samples(seconds: float, sample_rate: int) -> int:
    return max(0, round(seconds * sample_rate))


def ramp_up(n: int) -> Audio:
    """Raised-cosine rise from 0 towards 1 over ``n`` samples (first sample 0)."""
    x = np.arange(n, dtype=np.float32) / np.float32(max(n, 1))
    return as_audio(np.float32(0.5) - np.float32(0.5) * np.cos(x * np.float32(np.pi)))


def release_curve(n: int) -> Audio:
    """Release from 1 to exactly 0 over ``n`` samples: exponential-like, ends with zero slope."""
    x = np.arange(1, n + 1, dtype=np.float32) / np.float32(max(n, 1))
    return as_audio(np.exp(np.float32(-4.0) * x) * (np.float32(1.0) - x) ** 2)


def exp_decay(n: int, sample_rate: int, t60_s: float) -> Audio:
    """``exp`` decay reaching -60 dB after ``t60_s`` seconds."""
    rate = np.float32(-_LN_1000 / (max(t60_s, 1e-4) * sample_rate))
    return as_audio(np.exp(np.arange(n, dtype=np.float32) * rate))


def adsr(
    n: int,
    sample_rate: int,
    attack_s: float,
    decay_s: float = 0.0,
    sustain: float = 1.0,
) -> Audio:
    """Attack (raised cosine), then exponential decay towards ``sustain`` (held to the end).

    The release is not part of this envelope: the note gate applies it at note-off.
    ``decay_s`` is the time constant (1/e) of the fall from 1 to ``sustain``.
    """
    env = np.full(n, sustain, dtype=np.float32)
    n_attack = min(n, seconds_to_samples(attack_s, sample_rate))
    env[:n_attack] = ramp_up(n_attack)
    rest = n - n_attack
    if rest > 0 and sustain != 1.0 and decay_s > 0.0:
        t = np.arange(rest, dtype=np.float32) * np.float32(-1.0 / (decay_s * sample_rate))
        env[n_attack:] = np.float32(sustain) + np.float32(1.0 - sustain) * np.exp(t)
    return env


def fade_edges(x: Audio, n_in: int, n_out: int) -> Audio:
    """Fade the first ``n_in`` and last ``n_out`` samples of ``x`` (last axis) in place."""
    length = x.shape[-1]
    n_in = min(n_in, length)
    n_out = min(n_out, length)
    if n_in > 0:
        x[..., :n_in] *= ramp_up(n_in)
    if n_out > 0:
        x[..., length - n_out :] *= ramp_up(n_out)[::-1]
    return x
