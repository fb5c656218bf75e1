"""Additive synthesis, two ways.

``partial_bank``: exponentially decaying sinusoids (piano, marimba). Each partial is
``Im(c * z**m)`` with ``z = exp(-1/(tau*sr) + 2j*pi*f/sr)``; splitting time into blocks of
``B`` samples, sample ``b*B + m`` of the sum is ``Im(sum_k c_k z_k**(b*B) z_k**m)``, a
(blocks x K) by (K x B) product. It is contracted with ``einsum`` rather than BLAS: a threaded
BLAS can be dozens of times slower on a CPU-limited container, and the renderer must run on
one core.

Loops: sustained tones (pads, strings, choir, organ, supersaw) are periodic once every partial
sits on the grid ``sample_rate / length``. One inverse FFT then gives a seamless loop of any
number of partials (plus band-limited noise) for the price of one transform.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._types import Audio, Float64

Spectrum = NDArray[np.complex128]


def _powers(z: NDArray[np.complex128], count: int) -> NDArray[np.complex128]:
    """``z[:, None] ** arange(count)`` by repeated doubling, shape ``(K, count)``."""
    out = np.empty((z.shape[0], count), dtype=np.complex128)
    out[:, 0] = 1.0
    filled = 1
    step = z.copy()  # z ** filled
    while filled < count:
        m = min(filled, count - filled)
        np.multiply(out[:, :m], step[:, None], out=out[:, filled : filled + m])
        filled += m
        step = step * step
    return out


def _flush_tiny(x: Float64) -> Float64:
    # Values that would be float32 denormals slow every later operation down a lot.
    return np.where(np.abs(x) < 1e-30, 0.0, x)


def partial_bank(
    freqs_hz: ArrayLike,
    amps: ArrayLike,
    decays_s: ArrayLike,
    phases_rad: ArrayLike,
    n: int,
    sample_rate: int,
) -> Audio:
    """Sum of ``amps[k] * exp(-t / decays_s[k]) * sin(2*pi*freqs_hz[k]*t + phases_rad[k])``.

    All parameter arrays have shape ``(K,)`` (scalars broadcast); ``decays_s`` may be ``inf``
    for undamped partials. Partials at or above 0.48 * ``sample_rate`` are dropped so the
    result is band-limited. Returns shape ``(n,)`` float32.
    """
    f, a, d, p = np.broadcast_arrays(
        np.asarray(freqs_hz, dtype=np.float64),
        np.asarray(amps, dtype=np.float64),
        np.asarray(decays_s, dtype=np.float64),
        np.asarray(phases_rad, dtype=np.float64),
    )
    keep = (f > 0.0) & (f < 0.48 * sample_rate) & (a != 0.0)
    if n <= 0 or not keep.any():
        return np.zeros(max(n, 0), dtype=np.float32)
    f, a, d, p = f[keep], a[keep], d[keep], p[keep]
    rate = np.where(np.isfinite(d), -1.0 / (np.maximum(d, 1e-6) * sample_rate), 0.0)
    z = np.exp(rate + 2j * np.pi * f / sample_rate)
    block = int(min(1024, max(64, 2 ** int(np.ceil(np.log2(np.sqrt(n)))))))
    n_blocks = -(-n // block)
    within = _powers(z, block)  # (K, B)
    across = _powers(z**block, n_blocks) * (a * np.exp(1j * p))[:, None]  # (K, blocks)
    # Im(W @ V) = W.real @ V.imag + W.imag @ V.real, done as one real contraction.
    lhs = _flush_tiny(np.concatenate([across.real, across.imag], axis=0)).astype(np.float32)
    rhs = _flush_tiny(np.concatenate([within.imag, within.real], axis=0)).astype(np.float32)
    blocks = np.einsum("kb,km->bm", lhs, rhs, optimize=False)
    return np.ascontiguousarray(blocks.reshape(-1)[:n])


def saw_series(f0_hz: float, max_hz: float) -> tuple[Float64, Float64, Float64]:
    """Harmonics of a unit saw up to ``max_hz``: ``(freqs_hz, amps, phases_rad)``, shape (K,).

    Amplitudes are ``2 / (pi * k)``, so the sum is a band-limited saw in about [-1, 1].
    """
    count = max(1, int(max_hz // f0_hz))
    k = np.arange(1, count + 1, dtype=np.float64)
    phases = np.where(k % 2 == 0, np.pi, 0.0)
    return k * f0_hz, 2.0 / (np.pi * k), phases


@lru_cache(maxsize=16)
def _fft_friendly(low: int, high: int) -> NDArray[np.int64]:
    """All 7-smooth integers in ``[low, high]``, ascending (sizes pocketfft handles fast)."""
    found = []
    p2 = 1
    while p2 <= high:
        p3 = p2
        while p3 <= high:
            p5 = p3
            while p5 <= high:
                p7 = p5
                while p7 <= high:
                    if p7 >= low:
                        found.append(p7)
                    p7 *= 7
                p5 *= 5
            p3 *= 3
        p2 *= 2
    return np.array(sorted(found), dtype=np.int64)


def loop_length(f0_hz: float, sample_rate: int, target_s: float = 2.0) -> int:
    """Loop length (samples) within ±20 % of ``target_s`` that has a fast FFT size and holds
    a whole number of cycles of ``f0_hz`` as closely as possible (typically < 0.1 cent off)."""
    target = target_s * sample_rate
    sizes = _fft_friendly(int(0.8 * target), int(1.2 * target))
    cycles = f0_hz * sizes / sample_rate
    error = np.abs(cycles - np.rint(cycles)) / cycles
    return int(sizes[int(np.argmin(error))])


def note_loop_length(f0_hz: float, n: int, sample_rate: int) -> int:
    """Loop length for a sound of ``n`` samples: about as long as the sound, within 1–2 s.

    Short sounds need no longer loop, and 1 s still puts detuned partials on a 1 Hz grid.
    """
    return loop_length(f0_hz, sample_rate, target_s=float(np.clip(n / sample_rate, 1.0, 2.0)))


def empty_spectrum(length: int) -> Spectrum:
    """Zero one-sided spectrum for a loop of ``length`` samples."""
    return np.zeros(length // 2 + 1, dtype=np.complex128)


def add_partials(
    spectrum: Spectrum,
    freqs_hz: ArrayLike,
    amps: ArrayLike,
    phases_rad: ArrayLike,
    length: int,
    sample_rate: int,
) -> None:
    """Add ``amps * sin(2*pi*f*t + phase)`` partials to a loop spectrum, in place.

    Each frequency is rounded to the loop's grid ``sample_rate / length``; partials at or
    above 0.48 * ``sample_rate`` are dropped.
    """
    f, a, p = np.broadcast_arrays(
        np.asarray(freqs_hz, dtype=np.float64),
        np.asarray(amps, dtype=np.float64),
        np.asarray(phases_rad, dtype=np.float64),
    )
    bins = np.rint(f * length / sample_rate).astype(np.int64)
    keep = (bins > 0) & (f < 0.48 * sample_rate)
    # irfft turns bin value (length/2) * A * e^{i(phi - pi/2)} into A * sin(w t + phi).
    values = (0.5 * length) * a[keep] * np.exp(1j * (p[keep] - 0.5 * np.pi))
    np.add.at(spectrum, bins[keep], values)


def add_noise_band(
    spectrum: Spectrum,
    low_hz: float,
    high_hz: float,
    rms: float,
    length: int,
    sample_rate: int,
    rng: np.random.Generator,
) -> None:
    """Add looping band-limited white noise of RMS ``rms`` between ``low_hz`` and ``high_hz``."""
    lo = max(1, round(low_hz * length / sample_rate))
    hi = min(spectrum.size - 1, round(high_hz * length / sample_rate))
    if hi <= lo:
        return
    count = hi - lo
    amp = rms * np.sqrt(2.0 / count) * 0.5 * length
    spectrum[lo:hi] += amp * np.exp(2j * np.pi * rng.random(count))


def render_loop(spectrum: Spectrum, length: int) -> Audio:
    """One loop of ``length`` samples from its spectrum, float32 shape ``(length,)``."""
    return np.fft.irfft(spectrum.astype(np.complex64), length).astype(np.float32)


def repeat_loop(loop: Audio, n: int, out: Audio | None = None) -> Audio:
    """Repeat a loop (time on the last axis) to ``n`` samples, into ``out`` if given."""
    if out is None:
        out = np.empty((*loop.shape[:-1], n), dtype=np.float32)
    length = loop.shape[-1]
    for start in range(0, n, length):
        end = min(start + length, n)
        out[..., start:end] = loop[..., : end - start]
    return out
