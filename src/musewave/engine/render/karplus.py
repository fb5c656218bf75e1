"""Karplus–Strong plucked strings, vectorised.

The string is the recursion ``y[m] = x[m] + h0*y[m-N] + h1*y[m-N-1] + h2*y[m-N-2]``, where the
three taps are the classic two-point average (the loop's low-pass) convolved with a linear
fractional delay (exact tuning) and a loss gain (decay time). Every tap reaches at least ``N``
samples back, so one whole period can be computed at once from the previous one: the Python
loop runs once per period, not per sample. For short periods (high notes) the same recursion
runs in ``scipy.signal.lfilter`` instead, whose cost grows with ``N`` rather than with ``1/N``.
"""

from __future__ import annotations

import numpy as np

from .. import dsp
from ._types import Audio, Float64

_LFILTER_MAX_PERIOD = 64


def _loop_phase_delay(fraction: float, omega: float) -> float:
    """Phase delay (samples) at ``omega`` of the linear interpolator ``(1-f) + f z^-1``."""
    response = (1.0 - fraction) + fraction * np.exp(-1j * omega)
    return float(-np.angle(response) / omega)


def loop_taps(freq_hz: float, sample_rate: int, t60_s: float) -> tuple[int, Float64]:
    """Delay ``N`` and taps ``(h0, h1, h2)`` at delays ``N, N+1, N+2`` for the string loop.

    The fundamental is tuned exactly: ``N + 0.5 + interpolator delay == sample_rate/freq``.
    The loss gain sets the fundamental's -60 dB time to ``t60_s`` (capped so the loop stays
    stable); higher partials decay faster because of the averaging filter.
    """
    period = sample_rate / freq_hz
    omega = 2.0 * np.pi / period
    delay = max(1, int(np.floor(period - 0.5)))
    target = period - 0.5 - delay
    lo, hi = 0.0, 1.0
    for _ in range(40):  # phase delay grows monotonically with the fraction
        mid = 0.5 * (lo + hi)
        if _loop_phase_delay(mid, omega) < target:
            lo = mid
        else:
            hi = mid
    frac = 0.5 * (lo + hi)
    taps = np.convolve([0.5, 0.5], [1.0 - frac, frac])
    loop_gain = abs(np.polyval(taps[::-1], np.exp(-1j * omega)))
    wanted = 10.0 ** (-3.0 / (max(t60_s, 1e-3) * freq_hz))
    gain = min(wanted / loop_gain, 0.99995)
    return delay, taps * gain


def karplus_strong(
    excitation: Audio, freq_hz: float, n: int, sample_rate: int, t60_s: float
) -> Audio:
    """Plucked string of ``n`` samples driven by ``excitation`` (shape ``(k,)``, ``k <= n``).

    Returns shape ``(n,)`` float32. The excitation is typically one period of shaped noise or
    a triangle (the string's initial displacement). Its mean is removed: the loop passes DC
    almost unattenuated, so any DC in the excitation would linger as an offset.
    """
    delay, taps = loop_taps(freq_hz, sample_rate, t60_s)
    x = np.zeros(n, dtype=np.float64)
    k = min(n, excitation.shape[-1])
    x[:k] = excitation[:k]
    x[:k] -= x[:k].mean()
    if delay < _LFILTER_MAX_PERIOD:
        a = np.zeros(delay + 3)
        a[0] = 1.0
        a[delay:] = -taps
        return np.asarray(dsp.lfilter([1.0], a, x), dtype=np.float32)
    pad = delay + 2
    y = np.zeros(n + pad, dtype=np.float64)
    h = taps  # np.convolve(seg, h, "valid")[i] = h0*y[m-N] + h1*y[m-N-1] + h2*y[m-N-2]
    for start in range(0, n, delay):
        end = min(start + delay, n)
        past = y[start + pad - delay - 2 : end + pad - delay]
        y[start + pad : end + pad] = x[start:end] + np.convolve(past, h, "valid")
    return y[pad:].astype(np.float32)
