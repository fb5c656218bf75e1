"""Master stage and loudness meters: loudness target, true-peak ceiling, DC, fades, loops."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
import pytest
from scipy import signal

from musewave.engine.loudness import (
    BlockTruePeaks,
    estimate_integrated_lufs,
    integrated_lufs,
    k_weighted_block_energy,
    sample_peak_dbfs,
    true_peak_dbtp,
)
from musewave.engine.master import _front_end, _Grid, _tone_sos, master
from musewave.engine.profiles import MIX_PROFILES

SR = 44_100
Audio = npt.NDArray[np.float32]


def music(seconds: float, seed: int = 0) -> Audio:
    """A music-like stereo premaster: kick-ish thumps, decaying chords, hats, a melody."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    beat = 0.5
    thump = np.sin(2 * np.pi * (50 + 80 * np.exp(-(t % beat) / 0.03)) * t)
    kick = 0.8 * thump * np.exp(-(t % beat) / 0.15)
    chord = sum(np.sin(2 * np.pi * f * t) for f in (196.0, 246.9, 293.7))
    chords = 0.15 * chord * np.exp(-(t % (4 * beat)) / 0.8)
    hats = 0.15 * rng.standard_normal(n) * np.exp(-(t % (beat / 2)) / 0.02)
    melody = 0.2 * np.sin(2 * np.pi * np.where(t % 2 < 1, 659.3, 587.3) * t)
    left = kick + chords + hats + melody * np.exp(-(t % 0.25) / 0.1)
    right = kick + 0.8 * chords + np.roll(hats, 31) + 0.7 * melody
    return np.stack([left, right]).astype(np.float32)


def at_lufs(audio: Audio, lufs: float) -> Audio:
    return (audio * 10 ** ((lufs - integrated_lufs(audio, SR)) / 20)).astype(np.float32)


def reference_true_peak(audio: npt.NDArray[np.floating]) -> float:
    """4x oversampled peak straight from resample_poly, independent of the fast meter."""
    upsampled = signal.resample_poly(audio.astype(np.float64), 4, 1, axis=-1)
    return 20 * math.log10(float(np.abs(upsampled).max()))


def loud_dense(seconds: float) -> Audio:
    """Brick-wall clipped, near full scale everywhere: about -6 LUFS."""
    dense = at_lufs(music(seconds, seed=3), -3.0)
    return np.clip(dense, -1.0, 1.0)


@pytest.mark.parametrize(
    ("name", "make_input"),
    [
        ("quiet", lambda: at_lufs(music(8.0), -30.0)),
        ("loud dense", lambda: loud_dense(8.0)),
        ("already at target", lambda: at_lufs(music(8.0, seed=5), -14.0)),
    ],
)
@pytest.mark.parametrize("profile_name", ["default", "lofi", "house", "ambient"])
def test_master_hits_loudness_target_under_true_peak_ceiling(
    name: str, make_input: object, profile_name: str
) -> None:
    premaster = make_input()  # type: ignore[operator]
    result = master(premaster, MIX_PROFILES[profile_name], sample_rate=SR, fade_out_s=1.0)
    audio = result.audio
    assert audio.shape == premaster.shape and audio.dtype == np.float32
    assert integrated_lufs(audio, SR) == pytest.approx(-14.0, abs=0.5)
    assert reference_true_peak(audio) <= -1.0
    assert int(np.count_nonzero(np.abs(audio) >= 0.9999)) == 0
    # The reported measurements agree with independent meters.
    assert result.integrated_lufs == pytest.approx(integrated_lufs(audio, SR), abs=0.1)
    assert result.true_peak_dbtp == pytest.approx(reference_true_peak(audio), abs=0.05)


def test_loud_dense_input_really_is_loud() -> None:
    assert integrated_lufs(loud_dense(8.0), SR) > -8.0


def test_master_removes_dc() -> None:
    premaster = at_lufs(music(6.0), -20.0) + np.float32(0.2)
    audio = master(premaster, MIX_PROFILES["default"], sample_rate=SR).audio
    assert np.abs(audio.mean(axis=-1)).max() < 1e-3


def test_fades_start_and_end_at_silence() -> None:
    premaster = at_lufs(music(6.0), -20.0)
    audio = master(
        premaster, MIX_PROFILES["pop"], sample_rate=SR, fade_in_s=0.01, fade_out_s=1.5
    ).audio
    assert np.abs(audio[:, 0]).max() == 0.0
    assert np.abs(audio[:, -1]).max() == 0.0
    assert np.abs(audio[:, -SR // 100 :]).max() < 1e-3  # last 10 ms nearly silent
    # the fade-in reaches full level by 10 ms: no chopped start
    assert np.abs(audio[:, SR // 100 : SR // 20]).max() > 0.01


def test_limiting_is_smooth_no_clicks() -> None:
    t = np.arange(4 * SR) / SR
    swell = 1.0 + 3.0 * np.exp(-(((t - 2.0) / 0.05) ** 2))  # a smooth 4x peak to catch
    sine = np.tile(0.25 * np.sin(2 * np.pi * 220 * t) * swell, (2, 1)).astype(np.float32)
    audio = master(sine, MIX_PROFILES["default"], sample_rate=SR, fade_out_s=0.5).audio
    assert reference_true_peak(audio) <= -1.0
    # A 220 Hz sine bends by at most A * (2 pi 220 / SR)^2 ~ 0.001 A per sample; a gain step
    # (a click) would bend by the size of the step.
    bend = np.abs(np.diff(audio, n=2, axis=-1)).max()
    assert bend < 0.002


def test_silence_and_near_silence_do_not_blow_up() -> None:
    silent = master(np.zeros((2, SR), np.float32), MIX_PROFILES["default"], sample_rate=SR)
    assert not silent.audio.any()
    assert silent.integrated_lufs == -math.inf
    assert silent.true_peak_dbtp == -math.inf
    hiss = (np.random.default_rng(1).standard_normal((2, SR)) * 1e-7).astype(np.float32)
    quiet = master(hiss, MIX_PROFILES["default"], sample_rate=SR)
    assert np.all(np.isfinite(quiet.audio))
    assert np.abs(quiet.audio).max() < 1e-5  # below the -70 LUFS gate: not amplified


def test_very_quiet_music_is_brought_up() -> None:
    result = master(at_lufs(music(5.0), -60.0), MIX_PROFILES["default"], sample_rate=SR)
    assert integrated_lufs(result.audio, SR) == pytest.approx(-14.0, abs=0.5)


def test_loop_is_continuous_across_the_seam() -> None:
    bar = at_lufs(music(2.0), -20.0)
    loop = np.concatenate([bar, bar], axis=-1)  # periodic input
    audio = master(loop, MIX_PROFILES["house"], sample_rate=SR, fade_in_s=0.0, fade_out_s=0.0).audio
    seam = np.abs(audio[:, 0] - audio[:, -1]).max()
    typical = np.percentile(np.abs(np.diff(audio, axis=-1)), 99.9)
    assert seam <= typical
    assert np.abs(audio[:, 0]).max() > 0.0  # no fade-in on a loop


def test_lofi_master_is_low_passed() -> None:
    premaster = at_lufs(music(6.0), -20.0)
    lofi = master(premaster, MIX_PROFILES["lofi"], sample_rate=SR).audio
    clean = master(premaster, MIX_PROFILES["pop"], sample_rate=SR).audio

    def high_share(audio: Audio) -> float:
        freqs, power = signal.welch(audio[0], SR, nperseg=4096)
        return float(power[freqs > 12_000].sum() / power.sum())

    assert high_share(lofi) < 0.2 * high_share(clean)


def test_fast_meters_match_the_reference_meters() -> None:
    audio = at_lufs(music(7.3, seed=8), -17.0)
    assert estimate_integrated_lufs(audio, SR) == pytest.approx(
        integrated_lufs(audio, SR), abs=0.01
    )
    clipped = np.clip(audio * 8.0, -1.0, 1.0)
    for x in (audio, clipped):
        assert true_peak_dbtp(x, SR) == pytest.approx(reference_true_peak(x), abs=0.01)
        assert true_peak_dbtp(x, SR) >= sample_peak_dbfs(x)


def test_meters_read_silence_as_minus_infinity() -> None:
    silence = np.zeros((2, SR), np.float32)
    assert integrated_lufs(silence, SR) == -math.inf
    assert estimate_integrated_lufs(silence, SR) == -math.inf
    assert true_peak_dbtp(silence, SR) == -math.inf
    assert sample_peak_dbfs(silence) == -math.inf


@pytest.mark.parametrize("loop", [False, True])
def test_per_channel_front_end_is_one_whole_track_filter_and_the_block_meter(loop: bool) -> None:
    # master() removes DC, tone-filters and K-weights each channel on its own thread, a run
    # of blocks at a time: the same samples and energies as whole-track passes.
    audio = music(7.31, seed=5)  # not a whole number of blocks or runs
    tone = _tone_sos(MIX_PROFILES["lofi"].tone, SR)
    expected = audio - audio.mean(axis=-1, keepdims=True)
    state = np.zeros((tone.shape[0], 2, 2), np.float32)
    if loop:  # a loop starts from the state its end leaves
        _, state = signal.sosfilt(tone, expected[:, -2 * SR :], zi=state)
    expected, _ = signal.sosfilt(tone, expected, zi=state.astype(np.float32))
    block = _Grid.for_signal(audio.shape[-1], SR).block
    with ThreadPoolExecutor(max_workers=1) as helper:
        energy = _front_end(audio, tone, SR, block, loop, helper)
    np.testing.assert_array_equal(audio, expected)
    np.testing.assert_array_equal(energy, k_weighted_block_energy(expected, SR, block))


def test_block_peaks_split_over_two_threads_are_the_same() -> None:
    audio = np.clip(at_lufs(music(7.31, seed=9), -8.0), -1.0, 1.0)
    peaks = BlockTruePeaks(audio, 14)
    blocks = np.arange(0, peaks.n_blocks, 3, dtype=np.int64)
    with ThreadPoolExecutor(max_workers=1) as helper:
        split = BlockTruePeaks(audio, 14, helper)
        np.testing.assert_array_equal(split.sample_peaks, peaks.sample_peaks)
        np.testing.assert_array_equal(split.exact(blocks, helper), peaks.exact(blocks))


def test_block_true_peaks_at_the_edges_and_inside_are_the_reference_peaks() -> None:
    # Windows inside the track are read from a sliding view, those reaching past either end
    # are zero-padded: every block's peak is the 4x-oversampled one, as resample_poly gives.
    audio = np.clip(at_lufs(music(0.05, seed=4), -6.0), -1.0, 1.0)
    audio[:, 0], audio[:, -1] = 0.99, -0.99
    block = 14
    peaks = BlockTruePeaks(audio, block)
    blocks = np.arange(peaks.n_blocks, dtype=np.int64)
    # The meter takes the samples themselves and the three values between each pair.
    upsampled = signal.resample_poly(audio.astype(np.float64), 4, 1, axis=-1)
    between = np.abs(upsampled.reshape(2, -1, 4)[:, :, 1:]).max(axis=(0, 2))
    level = np.maximum(between, np.abs(audio).max(axis=0))
    padded = np.zeros(block * peaks.n_blocks)
    padded[: level.shape[0]] = level
    expected = padded.reshape(peaks.n_blocks, block).max(axis=1)
    np.testing.assert_allclose(peaks.exact(blocks), expected, rtol=1e-5, atol=1e-6)
    middle = blocks[2:-2]  # all inside: the sliding view alone
    np.testing.assert_array_equal(peaks.exact(middle), peaks.exact(blocks)[2:-2])
