"""Master: DC removal, tone, glue compression, loudness normalisation and a true-peak limiter.

Everything after the tone filter is a gain curve computed at "block rate" (one value per
``block`` ≈ 14 samples) from per-block K-weighted energies and 4x-oversampled peaks. The
loudness/limiting loop therefore never touches the full-rate signal: trying a gain costs a few
block-rate array passes, and the gain is applied to the audio once at the end.

Audio is float32, shape ``(2, n)``, full scale 1.0.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from musewave.engine.dsp import (
    butter,
    lfilter,
    maximum_filter1d,
    sosfilt,
    sosfilt_rows,
    uniform_filter1d,
)
from musewave.engine.loudness import (
    BlockTruePeaks,
    estimate_integrated_lufs,
    gated_loudness,
    gating_step_bounds,
    k_weighted_block_energy,
    k_weighting_sos,
    rbj_biquad,
    run_of_blocks,
)
from musewave.engine.profiles import BusCompression, MasterTone, MixProfile

FloatArray = npt.NDArray[np.float32]
F64Array = npt.NDArray[np.float64]

# The programme is brought to this loudness before compression and saturation, so their
# thresholds and drive mean the same thing for every input level.
WORKING_LUFS = -18.0
DC_HIGHPASS_HZ = 20.0
# MP3/Vorbis/Opus low-pass near 20 kHz; if the master still has content there, removing it
# re-shapes limited peaks and the decoded file overshoots by up to 1 dB. Cut it first.
CODEC_LOWPASS_HZ = 19000.0
# Aim this far under the ceiling: lossy encoders overshoot by a few tenths of a dB.
TRUE_PEAK_MARGIN_DB = 0.2
LIMITER_ATTACK_MS = 1.5
# Linear-in-dB recovery; slow enough not to distort bass, fast enough not to pump.
LIMITER_RELEASE_DB_PER_S = 60.0
COMPRESSOR_KNEE_DB = 6.0
LOUDNESS_TOLERANCE_LU = 0.05
MAX_ITERATIONS = 8
MAX_GAIN_DB = 60.0  # never lift a near-silent input further than this
# Measure the real output when the limiter costs more loudness than this (LU).
VERIFY_LIMITING_LU = 1.0
_PREROLL_S = 2.0  # looped masters: run filters over the end first so the seam is continuous
# A peak's interpolator and its gain ramp reach into the next block or two each side.
_GUARD_BLOCKS = 2
_BLOCK_SIZES = (14, 16, 18, 12, 20, 10, 15, 21)  # preferred envelope blocks (samples)
_FILTER_BLOCK = 65_536  # samples per block when filtering in place (~1.5 s at 44.1 kHz)


@dataclass
class MasterResult:
    """The mastered audio (float32, (2, n)) and its measured loudness and true peak.

    ``integrated_lufs`` comes from the limiter's block-grid meter (within ~0.05 LU of a full
    BS.1770 meter); ``true_peak_dbtp`` is measured on the output (exact 4x oversampling).
    """

    audio: FloatArray
    integrated_lufs: float
    true_peak_dbtp: float


@dataclass(frozen=True)
class _Grid:
    """The block grid: envelope block size and the gating step bounds in blocks."""

    block: int
    n_blocks: int
    gates: npt.NDArray[np.int64]

    @staticmethod
    def for_signal(n_samples: int, sample_rate: int) -> _Grid:
        step = round(0.1 * sample_rate)
        block = next((b for b in _BLOCK_SIZES if step % b == 0), 16)
        return _Grid(
            block,
            -(-n_samples // block),
            gating_step_bounds(n_samples, sample_rate, block),
        )


def _db_to_gain(db: F64Array) -> F64Array:
    return np.asarray(np.exp(db * (math.log(10.0) / 20.0)))


def _tone_sos(tone: MasterTone, sample_rate: int) -> npt.NDArray[np.float32]:
    """DC high-pass, shelves, the profile's low-pass and the codec guard low-pass as one
    cascade (one pass over the audio)."""
    sections = [butter(2, DC_HIGHPASS_HZ, "highpass", sample_rate)]
    if tone.low_shelf_db:
        sections.append(
            rbj_biquad("low_shelf", tone.low_shelf_hz, 0.707, tone.low_shelf_db, sample_rate)[
                np.newaxis
            ]
        )
    if tone.high_shelf_db and tone.high_shelf_hz < 0.45 * sample_rate:
        sections.append(
            rbj_biquad("high_shelf", tone.high_shelf_hz, 0.707, tone.high_shelf_db, sample_rate)[
                np.newaxis
            ]
        )
    for order, cutoff_hz in ((2, tone.lowpass_hz), (4, CODEC_LOWPASS_HZ)):
        if cutoff_hz and cutoff_hz < 0.45 * sample_rate:
            sections.append(butter(order, cutoff_hz, "lowpass", sample_rate))
    return np.concatenate(sections).astype(np.float32)


def _front_end(
    audio: FloatArray,
    tone_sos: npt.NDArray[np.float32],
    sample_rate: int,
    block: int,
    circular: bool,
    helper: Executor,
) -> F64Array:
    """Remove DC, apply the tone cascade in place and return the K-weighted energy per
    ``block`` (see ``k_weighted_block_energy``), one channel on ``helper`` and the other on
    the calling thread (the filter kernels release the GIL): two cores for the pass that
    must finish before anything else in the master can start.

    Each channel is tone-filtered and K-weighted a run of blocks at a time while the run is
    in cache, with both filters' states carried; for a loop the tone filter starts from the
    state the loop's end leaves. Per channel and per run exactly the steps of one
    ``sosfilt`` over the track and ``k_weighted_block_energy``, so the same samples and the
    same energies (the per-block sums of the channels are added in channel order, as the
    two-channel sum does).
    """
    channels, n_samples = audio.shape
    k_sos = k_weighting_sos(sample_rate).astype(np.float32)
    n_blocks = -(-n_samples // block)
    full = min(n_samples // block, n_blocks)
    run = run_of_blocks(block)

    def channel(index: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None]:
        row = audio[index : index + 1]  # (1, n): contiguous, filtered where it lies
        row -= row.mean(axis=-1, keepdims=True)
        tone_state = np.zeros((1, tone_sos.shape[0], 2), dtype=np.float32)
        if circular:
            preroll = row[:, -min(n_samples, round(_PREROLL_S * sample_rate)) :]
            zeros = np.zeros((tone_sos.shape[0], 1, 2), dtype=np.float32)
            _, state = sosfilt(tone_sos, preroll, zeros)
            tone_state = np.ascontiguousarray(np.moveaxis(state, 1, 0), dtype=np.float32)
        k_state = np.zeros((1, k_sos.shape[0], 2), dtype=np.float32)
        energy = np.zeros(full, dtype=np.float32)
        rest = None
        for start in range(0, n_samples, run):
            sosfilt_rows(tone_sos, row[:, start : start + run], tone_state)
            weighted = np.array(row[:, start : start + run])
            sosfilt_rows(k_sos, weighted, k_state)
            first = start // block
            whole = min(weighted.shape[-1] // block, full - first)
            if whole > 0:
                blocks = weighted[0, : whole * block].reshape(whole, block)
                energy[first : first + whole] = np.einsum("bk,bk->b", blocks, blocks)
            if first + whole == full < n_blocks and start + run >= n_samples:
                rest = weighted[0, whole * block :]
        return energy, rest

    others = [helper.submit(channel, index) for index in range(1, channels)]
    results = [channel(0), *(future.result() for future in others)]
    total = results[0][0]
    for energy, _ in results[1:]:
        total = total + energy
    out = np.zeros(n_blocks, dtype=np.float64)
    out[:full] = total
    if full < n_blocks:
        rest = np.stack([tail for _, tail in results if tail is not None])
        out[full] = float(np.sum(np.square(rest, dtype=np.float64)))
    return out


def _release(reduction_db: F64Array, db_per_block: float, circular: bool) -> F64Array:
    """Instant attack, linear-in-dB release: ``out[t] = max_{s<=t} in[s] - rate * (t - s)``.

    A running maximum of ``in[s] + rate * s`` computes that for every t at once.
    """
    n = reduction_db.shape[0]
    source = np.concatenate([reduction_db, reduction_db]) if circular else reduction_db
    ramp = np.arange(source.shape[0], dtype=np.float64) * db_per_block
    held = np.maximum.accumulate(source + ramp) - ramp
    return np.asarray(held[n:] if circular else held)


def _compression_db(
    energy: F64Array,
    grid: _Grid,
    work_db: float,
    bus: BusCompression,
    sample_rate: int,
    circular: bool,
) -> F64Array:
    """Gain reduction (dB, <= 0) per block of a soft-knee compressor keyed on K-weighted power."""
    if bus.ratio <= 1.0:
        return np.zeros(grid.n_blocks)
    block_rate = sample_rate / grid.block
    power = energy * (10.0 ** (work_db / 10.0) / grid.block)
    pole = math.exp(-1.0 / max(bus.attack_ms * 1e-3 * block_rate, 1e-6))
    state = None
    if circular:
        tail = power[-min(power.shape[0], round(_PREROLL_S * block_rate)) :]
        _, state = lfilter([1.0 - pole], [1.0, -pole], tail, [0.0])
    if state is None:
        smoothed = lfilter([1.0 - pole], [1.0, -pole], power)
    else:
        smoothed, _ = lfilter([1.0 - pole], [1.0, -pole], power, state)
    level = -0.691 + 10.0 * np.log10(np.maximum(smoothed, 1e-12))
    over = level - bus.threshold_db
    half_knee = COMPRESSOR_KNEE_DB / 2.0
    in_knee = np.clip(over + half_knee, 0.0, COMPRESSOR_KNEE_DB)
    reduction = np.where(over > half_knee, over, in_knee * in_knee / (2.0 * COMPRESSOR_KNEE_DB))
    reduction *= 1.0 - 1.0 / bus.ratio
    # 8.7 dB per release time is the initial slope of an exponential release.
    db_per_block = 20.0 * math.log10(math.e) / (bus.release_ms * 1e-3 * block_rate)
    return -_release(reduction, db_per_block, circular)


def _neighbour_max(values: F64Array, reach: int, circular: bool) -> F64Array:
    mode = "wrap" if circular else "nearest"
    return np.asarray(maximum_filter1d(values, 2 * reach + 1, mode=mode))


def _limiter_db(over_db: F64Array, grid: _Grid, sample_rate: int, circular: bool) -> F64Array:
    """Smooth gain reduction (dB, >= 0) that is at least ``over_db`` in every block.

    Release first, then hold the maximum over the attack window plus ``_GUARD_BLOCKS`` each
    side, then smooth with a triangle no wider than the hold: the smoothed curve reaches the
    needed reduction before the peak and stays flat across the guard blocks, where the
    interpolator and the per-sample gain ramp take their inputs from.
    """
    block_rate = sample_rate / grid.block
    attack = max(2, round(LIMITER_ATTACK_MS * 1e-3 * block_rate))
    attack += 1 - attack % 2  # odd box, so the triangle is centred
    released = _release(over_db, LIMITER_RELEASE_DB_PER_S / block_rate, circular)
    held = _neighbour_max(released, attack - 1 + _GUARD_BLOCKS, circular)
    mode = "wrap" if circular else "nearest"
    smooth = uniform_filter1d(held, attack, mode=mode)
    return np.asarray(uniform_filter1d(smooth, attack, mode=mode))


def _multiply_block_gains(audio: FloatArray, gains: F64Array, block: int, circular: bool) -> None:
    """Multiply ``audio`` (2, n) in place by a per-sample gain, linear between block edges;
    each edge is the mean of the blocks it joins, so every sample of a block gets at most the
    larger of its neighbours' gains. The per-sample curve is built a cache-sized run of blocks
    at a time (a whole track's would be two track-sized temporaries)."""
    n_samples = audio.shape[-1]
    edges = np.empty(gains.shape[0] + 1, dtype=np.float32)
    edges[1:-1] = 0.5 * (gains[:-1] + gains[1:])
    if circular:
        edges[0] = edges[-1] = 0.5 * (gains[0] + gains[-1])
    else:
        edges[0], edges[-1] = gains[0], gains[-1]
    ramp = np.arange(block, dtype=np.float32) / np.float32(block)
    steps = edges[1:] - edges[:-1]
    run = max(1, _FILTER_BLOCK // block)  # blocks per pass
    for first in range(0, gains.shape[0], run):
        last = min(gains.shape[0], first + run)
        start = first * block
        if start >= n_samples:
            break
        per_sample = edges[first:last, np.newaxis] + steps[first:last, np.newaxis] * ramp
        curve = per_sample.reshape(-1)[: n_samples - start]
        audio[:, start : start + curve.shape[0]] *= curve


def _fade_curve(length: int, rising: bool) -> FloatArray:
    """Raised-cosine fade of ``length`` samples from 0 to 1 (or 1 to 0), exact at both ends."""
    if length <= 1:
        return np.zeros(length, dtype=np.float32)
    curve = 0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, length))
    return (curve if rising else curve[::-1]).astype(np.float32)


def _fade_segments(
    n_samples: int, sample_rate: int, fade_in_s: float, fade_out_s: float
) -> list[tuple[int, FloatArray]]:
    """(first sample, gain curve) for the fade-in and fade-out; empty when there are none."""
    fade_in = min(n_samples, max(0, round(fade_in_s * sample_rate)))
    fade_out = min(n_samples, max(0, round(fade_out_s * sample_rate)))
    segments = []
    if fade_in:
        segments.append((0, _fade_curve(fade_in, rising=True)))
    if fade_out:
        segments.append((n_samples - fade_out, _fade_curve(fade_out, rising=False)))
    return segments


def _fade_block_power(
    segments: list[tuple[int, FloatArray]], block: int, n_blocks: int
) -> F64Array:
    """Mean squared fade gain per block, for the loudness estimate."""
    power = np.ones(n_blocks, dtype=np.float64)
    for start, curve in segments:
        first, last = start // block, -(-(start + curve.shape[0]) // block)
        gains = np.ones((last - first) * block, dtype=np.float64)
        offset = start - first * block
        gains[offset : offset + curve.shape[0]] = curve
        power[first:last] *= np.square(gains).reshape(-1, block).mean(axis=1)
    return power


def _apply_fades(audio: FloatArray, segments: list[tuple[int, FloatArray]]) -> None:
    for start, curve in segments:
        audio[:, start : start + curve.shape[0]] *= curve


def _saturate(audio: FloatArray, drive_db: float) -> FloatArray:
    """Tape-style soft clipping, unity gain for small signals: tanh(d x) / d."""
    drive = np.float32(10.0 ** (drive_db / 20.0))
    audio *= drive  # in place: the same float32 steps as tanh(audio * drive) / drive
    np.tanh(audio, out=audio)
    audio /= drive
    return audio


def master(
    premaster: FloatArray,
    profile: MixProfile,
    *,
    sample_rate: int,
    target_lufs: float = -14.0,
    ceiling_dbtp: float = -1.0,
    fade_in_s: float = 0.01,
    fade_out_s: float = 0.0,
    loop: bool | None = None,
    in_place: bool = False,
) -> MasterResult:
    """Master to ``target_lufs`` with the true peak under ``ceiling_dbtp`` (aiming
    ``TRUE_PEAK_MARGIN_DB`` lower, for lossy encoders).

    Inputs quieter than the -70 LUFS gate are returned filtered but not amplified; NaN/inf
    samples are zeroed.

    Parameters
    ----------
    premaster : ndarray, shape (2, n_samples), float32
    profile : MixProfile
        Its ``tone`` and ``bus`` are used.
    sample_rate : int
        Hz.
    target_lufs : float
        Integrated loudness, LUFS.
    ceiling_dbtp : float
        True-peak ceiling, dBTP.
    fade_in_s, fade_out_s : float
        Raised-cosine fades in seconds; they end exactly at zero.
    loop : bool or None
        Process circularly, so gain and filter state are continuous across the seam.
        ``None``: a loop when both fades are zero.
    in_place : bool
        Master in ``premaster``'s own buffer (C-contiguous float32 only; saves two copies of
        the track), for callers that do not need the pre-master again.

    Returns
    -------
    MasterResult
        The mastered audio, shape (2, n_samples), float32, with its loudness and true peak.
    """
    if premaster.ndim != 2 or premaster.shape[0] != 2:
        raise ValueError(f"premaster must be shaped (2, n), got {premaster.shape}")
    circular = (fade_in_s <= 0.0 and fade_out_s <= 0.0) if loop is None else loop
    n_samples = premaster.shape[-1]
    audio = premaster if in_place and premaster.dtype == np.float32 else premaster.copy()
    audio = np.asarray(audio, dtype=np.float32)
    if not math.isfinite(float(audio.sum())):  # NaN/inf anywhere poison the sum
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
    if n_samples == 0:
        return MasterResult(audio.copy(), -math.inf, -math.inf)
    if not audio.flags.c_contiguous:  # the channels are filtered where they lie
        audio = np.ascontiguousarray(audio)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="musewave-master") as helper:
        return _master(audio, profile, sample_rate, target_lufs, ceiling_dbtp, fade_in_s,
                       fade_out_s, circular, helper)  # fmt: skip


def _master(
    audio: FloatArray,
    profile: MixProfile,
    sample_rate: int,
    target_lufs: float,
    ceiling_dbtp: float,
    fade_in_s: float,
    fade_out_s: float,
    circular: bool,
    helper: Executor,
) -> MasterResult:
    """:func:`master` on ``audio`` (float32, finite, in place), with ``helper`` as a second
    thread for the passes that split (per channel, per run of blocks)."""
    n_samples = audio.shape[-1]
    grid = _Grid.for_signal(n_samples, sample_rate)
    # Full-rate K-weighting: at half rate (35 ms faster on 120 s) white noise reads 0.2 LU low.
    tone = _tone_sos(profile.tone, sample_rate)
    energy = _front_end(audio, tone, sample_rate, grid.block, circular, helper)
    fades = _fade_segments(n_samples, sample_rate, fade_in_s, fade_out_s)
    fade_power = _fade_block_power(fades, grid.block, grid.n_blocks)
    loudness_in = gated_loudness(energy, grid.gates, sample_rate)
    if not math.isfinite(loudness_in):
        _apply_fades(audio, fades)
        return MasterResult(audio, loudness_in, _true_peak(audio, grid.block, helper))

    work_db = min(max(WORKING_LUFS - loudness_in, -MAX_GAIN_DB), MAX_GAIN_DB)
    pre_db = work_db + _compression_db(energy, grid, work_db, profile.bus, sample_rate, circular)
    if profile.tone.saturation_drive_db > 0.0:
        _multiply_block_gains(audio, _db_to_gain(pre_db), grid.block, circular)
        audio = _saturate(audio, profile.tone.saturation_drive_db)
        energy = k_weighted_block_energy(audio, sample_rate, grid.block)
        pre_db = np.zeros(grid.n_blocks)

    limiter = _LoudnessLimiter(
        audio,
        energy,
        pre_db,
        fade_power,
        grid,
        sample_rate,
        ceiling_dbtp - TRUE_PEAK_MARGIN_DB,
        circular,
        helper,
    )
    gain_db, limit_db, loudness = limiter.solve(target_lufs)
    # Under heavy limiting the block model (gain applied after K-weighting) drifts; measure
    # the real output and, if it missed, solve again for the corrected target.
    verify = limiter.loudness(gain_db, limiter.no_limit) - loudness > VERIFY_LIMITING_LU
    # The limiter reads peaks from ``audio`` as it was: a trial is gained in a copy.
    gained = audio.copy() if verify else audio
    _apply_gain(gained, pre_db + gain_db - limit_db, grid, fades, circular)
    if verify:
        measured = estimate_integrated_lufs(gained, sample_rate)
        drift = loudness - measured
        loudness = measured
        if abs(target_lufs - measured) > LOUDNESS_TOLERANCE_LU and math.isfinite(drift):
            gain_db, limit_db, estimate = limiter.solve(target_lufs + drift)
            gained = audio
            _apply_gain(gained, pre_db + gain_db - limit_db, grid, fades, circular)
            loudness = estimate - drift
    audio = gained
    del limiter, gained
    true_peak = _true_peak(audio, grid.block, helper)
    if true_peak > ceiling_dbtp:
        # Only reachable through extreme inter-block gain changes; trade a hair of loudness.
        trim_db = ceiling_dbtp - TRUE_PEAK_MARGIN_DB / 2 - true_peak
        audio *= np.float32(10.0 ** (trim_db / 20.0))
        loudness += trim_db
        true_peak += trim_db
    return MasterResult(audio, loudness, true_peak)


def _apply_gain(
    audio: FloatArray,
    gain_db: F64Array,
    grid: _Grid,
    fades: list[tuple[int, FloatArray]],
    circular: bool,
) -> None:
    """Apply a block-rate gain curve (dB) and the fades to ``audio`` in place."""
    _multiply_block_gains(audio, _db_to_gain(gain_db), grid.block, circular)
    _apply_fades(audio, fades)


def _true_peak(audio: FloatArray, block: int, helper: Executor | None = None) -> float:
    peaks = BlockTruePeaks(audio, max(block, 10), helper)
    sample_peak = float(np.max(peaks.sample_peaks))
    if sample_peak <= 0.0:
        return -math.inf
    candidates = np.flatnonzero(peaks.bound > sample_peak).astype(np.int64)
    best = (
        max(sample_peak, float(np.max(peaks.exact(candidates, helper))))
        if candidates.size
        else sample_peak
    )
    return 20.0 * math.log10(best)


class _LoudnessLimiter:
    """Make-up gain plus true-peak limiting, solved on the block grid.

    Peaks are computed exactly only where the cheap bound says a block could reach the
    ceiling, and kept across solves; the gain is refined with secant steps on the loudness
    of the block energies under the trial gain curve.
    """

    def __init__(
        self,
        audio: FloatArray,
        energy: F64Array,
        pre_db: F64Array,
        fade_power: F64Array,
        grid: _Grid,
        sample_rate: int,
        ceiling_db: float,
        circular: bool,
        helper: Executor | None = None,
    ) -> None:
        self._peaks = BlockTruePeaks(audio, grid.block, helper)
        self._helper = helper
        with np.errstate(divide="ignore"):
            self._peak_db = 20.0 * np.log10(self._peaks.bound.astype(np.float64))
        self._exact = np.zeros(grid.n_blocks, dtype=bool)
        # A block's samples take gains from its neighbours too (see _multiply_block_gains).
        self._pre_high = _neighbour_max(pre_db, _GUARD_BLOCKS, circular)
        self._energy = energy * _db_to_gain(2.0 * pre_db) * fade_power
        self._grid = grid
        self._sample_rate = sample_rate
        self._ceiling_db = ceiling_db
        self._circular = circular
        self.no_limit = np.zeros(grid.n_blocks)

    def loudness(self, gain_db: float, limit_db: F64Array) -> float:
        """Estimated integrated loudness (LUFS) with this gain and reduction."""
        if limit_db.any():
            weight: F64Array | float = _db_to_gain(2.0 * (gain_db - limit_db))
        else:
            weight = 10.0 ** (gain_db / 10.0)
        return gated_loudness(self._energy * weight, self._grid.gates, self._sample_rate)

    def reduction(self, gain_db: float) -> F64Array:
        """Limiter reduction per block (dB) keeping every true peak under the ceiling."""
        level = self._peak_db + self._pre_high + gain_db
        needed = (level > self._ceiling_db) & ~self._exact
        if needed.any():
            blocks = np.flatnonzero(needed).astype(np.int64)
            with np.errstate(divide="ignore"):
                self._peak_db[blocks] = 20.0 * np.log10(
                    self._peaks.exact(blocks, self._helper).astype(np.float64)
                )
            self._exact |= needed
            level = self._peak_db + self._pre_high + gain_db
        over = np.maximum(level - self._ceiling_db, 0.0)
        if not over.any():
            return self.no_limit
        return _limiter_db(over, self._grid, self._sample_rate, self._circular)

    def solve(self, target_lufs: float) -> tuple[float, F64Array, float]:
        """(gain dB, reduction per block dB, estimated loudness) that land on the target."""
        unlimited = self.loudness(0.0, self.no_limit)
        gain_db = min(max(target_lufs - unlimited, -MAX_GAIN_DB), MAX_GAIN_DB)
        previous: tuple[float, float] | None = None
        for _ in range(MAX_ITERATIONS):
            limit_db = self.reduction(gain_db)
            loudness = self.loudness(gain_db, limit_db)
            error = target_lufs - loudness
            if abs(error) <= LOUDNESS_TOLERANCE_LU or not math.isfinite(loudness):
                break
            # Secant step: more gain buys less loudness once the limiter works hard.
            slope = 1.0
            if previous is not None and gain_db != previous[0]:
                slope = (loudness - previous[1]) / (gain_db - previous[0])
                slope = min(max(slope, 0.2), 1.0)
            previous = (gain_db, loudness)
            gain_db = min(gain_db + error / slope, MAX_GAIN_DB)
        return gain_db, limit_db, loudness
