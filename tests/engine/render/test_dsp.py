"""Building blocks: oscillators, Karplus–Strong, additive banks, loops, filters."""

from __future__ import annotations

import numpy as np
import pytest

from musewave.engine.render.envelopes import release_curve
from musewave.engine.render.filters import loop_vibrato, lowpass, tv_lowpass
from musewave.engine.render.karplus import karplus_strong
from musewave.engine.render.oscillators import noise, pulse, saw
from musewave.engine.render.partials import (
    add_partials,
    empty_spectrum,
    loop_length,
    partial_bank,
    render_loop,
)

from .conftest import SR, fundamental_hz, power_spectrum


def _aliased_share(x: np.ndarray, f0: float) -> float:
    """Share of power away from the harmonics of ``f0`` (aliases land between them)."""
    freqs, power = power_spectrum(x)
    harmonic = np.abs(freqs / f0 - np.rint(freqs / f0)) * f0 < 15.0
    return float(power[~harmonic].sum() / power.sum())


def test_polyblep_saw_aliases_far_less_than_a_naive_saw() -> None:
    f0 = 2793.8  # F7: naive aliasing is severe this high
    blep = saw(f0, SR, SR)
    naive = (2.0 * ((np.arange(SR) * f0 / SR) % 1.0) - 1.0).astype(np.float32)
    assert _aliased_share(blep, f0) < 0.25 * _aliased_share(naive, f0)
    assert np.abs(blep).max() < 1.1


def test_pulse_is_zero_mean_with_levels_set_by_its_width() -> None:
    wave = pulse(220.5, SR, SR, width=0.3)
    assert abs(float(wave.mean())) < 0.01
    # a zero-mean 30 % pulse sits at +1.4 for 30 % of the cycle and -0.6 otherwise
    assert np.median(wave[wave > 0]) == pytest.approx(1.4, abs=0.01)
    assert np.median(wave[wave < 0]) == pytest.approx(-0.6, abs=0.01)
    assert wave.max() < 1.5 and wave.min() > -0.7


@pytest.mark.parametrize("freq", [41.2, 196.0, 880.0, 2093.0])
def test_karplus_strong_is_tuned_exactly_and_decays(freq: float) -> None:
    excitation = noise(round(SR / freq), np.random.default_rng(0))
    string = karplus_strong(excitation, freq, SR, SR, t60_s=1.0)
    assert fundamental_hz(string[SR // 10 : SR // 2], freq) == pytest.approx(freq, rel=0.002)
    assert np.abs(string[-SR // 10 :]).max() < 0.05 * np.abs(string[: SR // 10]).max()


def test_karplus_strong_paths_agree_across_the_lfilter_threshold() -> None:
    # delay 63 (lfilter) and 64 (period loop) neighbours should behave alike
    for freq in (SR / 64.0, SR / 65.0):
        excitation = noise(round(SR / freq), np.random.default_rng(1))
        string = karplus_strong(excitation, freq, SR // 2, SR, t60_s=0.5)
        assert np.isfinite(string).all()
        assert fundamental_hz(string[2000:20000], freq) == pytest.approx(freq, rel=0.002)


def test_partial_bank_matches_the_direct_formula() -> None:
    n = 20000
    t = np.arange(n) / SR
    bank = partial_bank([440.0, 1234.5], [1.0, 0.5], [np.inf, 0.2], [0.0, 1.0], n, SR)
    direct = np.sin(2 * np.pi * 440 * t) + 0.5 * np.exp(-t / 0.2) * np.sin(
        2 * np.pi * 1234.5 * t + 1
    )
    np.testing.assert_allclose(bank, direct, atol=1e-4)


def test_loop_repeats_seamlessly_and_stays_in_tune() -> None:
    f0 = 261.63
    length = loop_length(f0, SR)
    cycles = f0 * length / SR
    assert abs(cycles - round(cycles)) / cycles < 1e-4  # < 0.2 cent
    spectrum = empty_spectrum(length)
    add_partials(spectrum, [f0, 2 * f0], [1.0, 0.3], [0.0, 0.5], length, SR)
    loop = loop_vibrato(render_loop(spectrum, length), SR, 5.0, 20.0)
    twice = np.concatenate([loop, loop])
    steps = np.abs(np.diff(twice))
    assert steps[length - 3 : length + 3].max() <= 1.05 * steps.max()


def test_time_varying_lowpass_follows_its_cutoff() -> None:
    x = noise(SR, np.random.default_rng(2))
    cutoff = np.where(np.arange(SR) < SR // 2, 8000.0, 300.0)
    y = tv_lowpass(x, cutoff, 0.7, SR)
    bright_half, dark_half = y[: SR // 2], y[SR // 2 + 2000 :]
    assert np.std(np.diff(bright_half)) > 5 * np.std(np.diff(dark_half))
    static = lowpass(x, 300.0, SR, order=4)
    assert np.std(dark_half) == pytest.approx(np.std(static[SR // 2 + 2000 :]), rel=0.2)


def test_release_curve_falls_from_one_to_exactly_zero() -> None:
    curve = release_curve(1000)
    assert curve[0] > 0.99 and curve[-1] == 0.0
    assert np.all(np.diff(curve) <= 0.0)
