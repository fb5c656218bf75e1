"""Mix: per-stem EQ, stereo image, sidechain ducking and reverb/delay sends, then the loop fold
and the headroom that turn the processed stems into the pre-master.

Every operation here is linear in each stem (the sidechain is a gain curve fixed by the kick
onsets, the sends are convolutions), so the pre-master is exactly the sum of the returned stems
and nothing needs to happen on the sum: bus compression and limiting belong to ``master``.

Audio is float32, shape ``(2, n)`` (channels first), full scale 1.0.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from musewave.engine.dsp import (
    butter,
    irfft,
    maximum_filter1d,
    rfft,
    sosfilt,
    sosfilt_block,
    uniform_filter1d,
)
from musewave.engine.profiles import (
    VOCAL_PRESENCE_HZ,
    DelaySettings,
    MixProfile,
    ReverbSettings,
    StemSettings,
)
from musewave.engine.score import Score

FloatArray = npt.NDArray[np.float32]

KICK_KEYS = frozenset({35, 36})  # General-MIDI kick drums: they key the sidechain
STEM_PEAK_DBFS = -3.0  # stems and pre-master peak at most this before encoding
# Ducking reaches full depth over this long, centred on the kick, so the gain never steps.
SIDECHAIN_ATTACK_MS = 4.0
_HIGHPASS_ORDER = 4  # 24 dB/octave: keeps 40-120 Hz for kick and bass
_LOWPASS_ORDER = 2
_MONO_BELOW_ORDER = 4
_IR_SEED = 1770  # fixed so the same profile always reverberates identically
# The reverb's tail ends (faded) where its lows have fallen 60 dB: what would ring on below
# that is masked in a mix, and the tail sets every reverb send's FFT length (1.3, -78 dB,
# cost ~15 % more FFT work for an inaudible difference).
_IR_LENGTH_RT60 = 1.0
_IR_DRAWN_RT60 = 1.3
# A send's ring is kept until it has decayed this far (the FFT buffer must hold it).
_RING_FLOOR = 1e-4
_MAX_DELAY_RING_S = 30.0
# The sends' shortest FFT: up to this length, batched transforms cost about the same per
# sample, so a longer block (less zero-padding per track sample) comes for free.
_MIN_SEND_FFT = 1 << 18
# FFT samples transformed per call (several blocks at once).
_SEND_BATCH_SAMPLES = 1 << 20
# Samples per block when filtering in place (about 1.5 s at 44.1 kHz).
_IN_PLACE_BLOCK = 65_536
# A filter whose state is below this (-600 dBFS) has rung out: a silent block stays silent.
_SETTLED = 1e-30
# Stems mixed at once: the cores this process may use (more threads only add memory).
_MIX_THREADS = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def sidechain_envelope(
    kick_onsets: npt.NDArray[np.int64], n_samples: int, *, sample_rate: int, release_ms: float
) -> FloatArray:
    """Ducking amount per sample: 1 at each kick, falling to 0 along a half cosine (the
    classic "pump"); 0 before the first kick.

    Parameters
    ----------
    kick_onsets : ndarray, shape (n_kicks,), int64
        Sample indices; those outside ``[0, n_samples)`` are ignored.
    n_samples : int
    sample_rate : int
        Hz.
    release_ms : float
        Time from a kick back to 0, in ms.

    Returns
    -------
    ndarray, shape (n_samples,), float32
        In [0, 1].
    """
    onsets = np.unique(kick_onsets[(kick_onsets >= 0) & (kick_onsets < n_samples)])
    if onsets.size == 0 or n_samples == 0:
        return np.zeros(n_samples, dtype=np.float32)
    release = max(1.0, release_ms * 1e-3 * sample_rate)
    length = math.ceil(release)
    phase = np.arange(length, dtype=np.float32) * np.float32(math.pi / release)
    pump = np.float32(0.5) + np.float32(0.5) * np.cos(phase)
    # Each kick restarts the pump; it runs until the release ends or the next kick.
    ends = np.minimum(np.append(onsets[1:], n_samples), onsets + length)
    attack = max(1, round(SIDECHAIN_ATTACK_MS * 1e-3 * sample_rate))
    # Box-smoothing both ways turns the jump at each kick into a short ramp. Block by block,
    # each block's pumps drawn with the window's margin (the same values as one call over the
    # whole track): ndimage works in float64, and no track-length raw envelope is needed.
    smooth = np.empty(n_samples, dtype=np.float32)
    for start in range(0, n_samples, _IN_PLACE_BLOCK):
        stop = min(n_samples, start + _IN_PLACE_BLOCK)
        low, high = max(0, start - attack), min(n_samples, stop + attack)
        duck = np.zeros(high - low, dtype=np.float32)
        first = int(np.searchsorted(ends, low, side="right"))
        last = int(np.searchsorted(onsets, high, side="left"))
        for onset, end in zip(onsets[first:last].tolist(), ends[first:last].tolist(), strict=True):
            begin, finish = max(onset, low), min(end, high)
            duck[begin - low : finish - low] = pump[begin - onset : finish - onset]
        window = uniform_filter1d(duck, attack, mode="nearest")
        smooth[start:stop] = window[start - low : stop - low]
    return smooth


def _butter(order: int, cutoff_hz: float, kind: str, sample_rate: int) -> npt.NDArray[np.float64]:
    nyquist = sample_rate / 2.0
    cutoff = min(max(cutoff_hz, 1.0), 0.95 * nyquist)
    return butter(order, cutoff, kind, sample_rate)  # type: ignore[arg-type]


def _stem_sos(settings: StemSettings, sample_rate: int) -> npt.NDArray[np.float32] | None:
    """High-/low-pass sections with the stem gain folded in; None when there is no filter."""
    sections = []
    if settings.highpass_hz:
        sections.append(_butter(_HIGHPASS_ORDER, settings.highpass_hz, "highpass", sample_rate))
    if settings.lowpass_hz and settings.lowpass_hz < 0.95 * sample_rate / 2:
        sections.append(_butter(_LOWPASS_ORDER, settings.lowpass_hz, "lowpass", sample_rate))
    if not sections:
        return None
    sos = np.concatenate(sections)
    sos[0, :3] *= 10.0 ** (settings.gain_db / 20.0)
    return sos.astype(np.float32)


def _settled(state: npt.NDArray[np.float32] | None) -> bool:
    """Whether a filter state (or None: no filter) no longer rings above ``_SETTLED``."""
    return state is None or float(np.abs(state).max(initial=0.0)) < _SETTLED


def _pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan, normalised so the centre is unity on both sides."""
    angle = (min(max(pan, -1.0), 1.0) + 1.0) * math.pi / 4.0
    return math.sqrt(2.0) * math.cos(angle), math.sqrt(2.0) * math.sin(angle)


def _process_dry(
    audio: FloatArray,
    settings: StemSettings,
    sample_rate: int,
    duck: FloatArray | None,
    *,
    in_place: bool = False,
) -> FloatArray:
    """Gain and filters, stereo image, pan and ducking of one stem: a (2, n) copy, or
    ``audio`` itself processed in place when ``in_place``.

    Every step runs on one cache-sized block before the next block is read, with the
    filters' state carried across blocks: the same samples as whole-track passes, at a
    fraction of the memory traffic.
    """
    out = audio if in_place else np.array(audio, dtype=np.float32)
    sos = _stem_sos(settings, sample_rate)
    gain = np.float32(10.0 ** (settings.gain_db / 20.0))
    # Per channel: (2, sections, 2), filtered where the samples lie (see sosfilt_block).
    state = None if sos is None else np.zeros((2, sos.shape[0], 2), dtype=np.float32)
    stereo = settings.width != 1.0 or bool(settings.mono_below_hz)
    half_width = np.float32(0.5 * settings.width)
    side_sos = None
    if stereo and settings.mono_below_hz and settings.width != 0.0:
        side_sos = _butter(
            _MONO_BELOW_ORDER, settings.mono_below_hz, "highpass", sample_rate
        ).astype(np.float32)
    side_state = None if side_sos is None else np.zeros((side_sos.shape[0], 2), np.float32)
    left_gain, right_gain = _pan_gains(settings.pan)
    panned = left_gain != 1.0 or right_gain != 1.0
    ducked = duck is not None and settings.sidechain_depth_db > 0.0
    # gain = 10^(-depth * duck / 20), computed as one exp over the envelope
    duck_scale = np.float32(-settings.sidechain_depth_db * math.log(10.0) / 20.0)
    for start in range(0, out.shape[-1], _IN_PLACE_BLOCK):
        block = out[:, start : start + _IN_PLACE_BLOCK]
        if not block.any() and _settled(state) and _settled(side_state):
            # A resting part: silence in and the filters rung out, so silence out (a
            # ring below _SETTLED, -600 dBFS, is let go rather than carried as denormals).
            for rung_out in (state, side_state):
                if rung_out is not None:
                    rung_out[...] = 0.0
            continue
        # Equal channels (a centred mono part) under equal filter states are filtered
        # once, and their side is silent: the same samples as processing both.
        mono = (
            np.array_equal(block[0], block[1])
            and (state is None or np.array_equal(state[0], state[1]))
            and (side_state is None or not side_state.any())
        )
        if sos is not None:
            assert state is not None
            if mono:
                sosfilt_block(sos, block[:1], state[:1])
                block[1] = block[0]
                state[1] = state[0]
            else:
                sosfilt_block(sos, block, state)
        elif gain != 1.0:
            block *= gain
        if stereo and not mono:
            # block[0] becomes mid, then mid +/- side (no full-length temporaries).
            side = block[0] - block[1]
            side *= half_width
            if side_sos is not None:
                side, side_state = sosfilt(side_sos, side, side_state)
            block[0] += block[1]
            block[0] *= np.float32(0.5)
            np.subtract(block[0], side, out=block[1])
            block[0] += side
        if panned:
            block[0] *= np.float32(left_gain)
            block[1] *= np.float32(right_gain)
        if ducked:
            assert duck is not None
            ducking = duck[start : start + _IN_PLACE_BLOCK] * duck_scale
            np.exp(ducking, out=ducking)
            block *= ducking
    return out


@lru_cache(maxsize=8)
def reverb_impulse_response(settings: ReverbSettings, *, sample_rate: int) -> FloatArray:
    """Stereo impulse response of the reverb.

    Decorrelated noise per channel in three bands that decay at their own RT60 (highs faster
    with ``damping``), a soft diffuse build-up, a few early reflections, all after
    ``pre_delay_ms``. Deterministic (fixed seed).

    Parameters
    ----------
    settings : ReverbSettings
    sample_rate : int
        Hz.

    Returns
    -------
    ndarray, shape (2, m), float32
        Unit energy per channel; read-only (cached).
    """
    rng = np.random.default_rng(_IR_SEED)
    pre_delay = round(settings.pre_delay_ms * 1e-3 * sample_rate)
    length = max(16, round(_IR_LENGTH_RT60 * settings.decay_s * sample_rate))
    t = np.arange(length) / sample_rate
    # Drawn as long as the tail once was (1.3 RT60) and cut, so the room is the same one.
    drawn = max(16, round(_IR_DRAWN_RT60 * settings.decay_s * sample_rate))
    noise = rng.standard_normal((2, drawn))[:, :length]
    low = sosfilt(_butter(2, 500.0, "lowpass", sample_rate), noise)
    high = sosfilt(_butter(2, 4000.0, "highpass", sample_rate), noise)
    mid = noise - low - high
    ln_1000 = math.log(1000.0)  # 60 dB of amplitude decay
    tail = np.zeros_like(noise)
    damping = min(max(settings.damping, 0.0), 1.0)
    for band, rt60 in (
        (low, settings.decay_s),
        (mid, settings.decay_s * (1.0 - 0.35 * damping)),
        (high, settings.decay_s * (1.0 - 0.7 * damping)),
    ):
        tail += band * np.exp(-ln_1000 * t / max(rt60, 0.05))
    tail *= 1.0 - np.exp(-t / 0.012)  # diffuse density builds up over ~10 ms
    early_s = np.array([0.007, 0.011, 0.017, 0.023, 0.031, 0.041, 0.053])
    for channel in range(2):
        jitter = rng.uniform(0.8, 1.25, early_s.shape[0])
        taps = np.minimum((early_s * jitter * sample_rate).astype(np.int64), length - 1)
        signs = rng.choice([-1.0, 1.0], early_s.shape[0])
        tail[channel, taps] += 4.0 * signs * np.exp(-early_s / 0.03)
    fade = min(length, round(0.05 * sample_rate))
    tail[:, length - fade :] *= np.linspace(1.0, 0.0, fade)
    ir = np.zeros((2, pre_delay + length))
    ir[:, pre_delay:] = tail
    band = np.concatenate(
        [
            _butter(2, settings.highpass_hz, "highpass", sample_rate),
            _butter(2, settings.lowpass_hz, "lowpass", sample_rate),
        ]
    )
    ir = sosfilt(band, ir)
    mid_ir, side_ir = 0.5 * (ir[0] + ir[1]), 0.5 * settings.width * (ir[0] - ir[1])
    ir = np.stack([mid_ir + side_ir, mid_ir - side_ir])
    ir /= math.sqrt(float(np.mean(np.sum(ir * ir, axis=-1))))
    out = ir.astype(np.float32)
    out.flags.writeable = False
    return out


def _delay_samples(delay: DelaySettings, bpm: float, sample_rate: int) -> int:
    return max(1, round(delay.time_beats * 60.0 / bpm * sample_rate))


def _delay_ring_samples(delay: DelaySettings, bpm: float, sample_rate: int) -> int:
    period = _delay_samples(delay, bpm, sample_rate)
    feedback = min(max(delay.feedback, 0.0), 0.95)
    repeats = 1 if feedback <= 0.0 else math.ceil(math.log(_RING_FLOOR) / math.log(feedback))
    return min((repeats + 1) * period, round(_MAX_DELAY_RING_S * sample_rate))


class _SendReturns:
    """Reverb and delay as spectra, shared by every stem of a mix.

    A stem's wet return is its mono send convolved with ``r * h_reverb + d * h_delay``:
    linear in the stem. The convolution is overlap-add with a power-of-two FFT at least
    twice the ring of the responses the stem uses (a reverb-only stem does not pay for the
    delay's longer ring), so each block's ring lands within the next block; blocks are
    transformed ``_SEND_BATCH_SAMPLES`` at a time, because pocketfft runs several transforms
    side by side in SIMD lanes (about twice the speed of one at a time).
    """

    def __init__(self, profile: MixProfile, sample_rate: int, bpm: float) -> None:
        self._ir = reverb_impulse_response(profile.reverb, sample_rate=sample_rate)
        self._delay_ring = _delay_ring_samples(profile.delay, bpm, sample_rate)
        self._profile = profile
        self._sample_rate = sample_rate
        self._bpm = bpm
        self._spectra: dict[tuple[str, int], npt.NDArray[np.complex64]] = {}

    def layout(self, reverb: bool, delay: bool) -> tuple[int, int]:
        """``(fft_len, block)`` for a stem that sends to the reverb and/or the delay: a
        block and the ring of the responses it uses fit one FFT, and a ring never reaches
        past the next block."""
        ring = max(self._ir.shape[-1] if reverb else 1, self._delay_ring if delay else 1)
        fft_len = max(_MIN_SEND_FFT, 1 << (2 * ring - 1).bit_length())
        return fft_len, fft_len - ring

    def prepare(self, reverb: bool, delay: bool) -> None:
        """Build the spectra such a stem needs (before the mix threads share them)."""
        fft_len, _ = self.layout(reverb, delay)
        if reverb:
            self._spectrum("reverb", fft_len)
        if delay:
            self._spectrum("delay", fft_len)

    def _spectrum(self, kind: str, fft_len: int) -> npt.NDArray[np.complex64]:
        spectrum = self._spectra.get((kind, fft_len))
        if spectrum is None:
            if kind == "reverb":
                spectrum = rfft(self._ir, fft_len)
            else:
                spectrum = self._delay_spectrum(fft_len)
            self._spectra[kind, fft_len] = spectrum
        return spectrum

    def _delay_spectrum(self, fft_len: int) -> npt.NDArray[np.complex64]:
        """Ping-pong (or mono) feedback delay evaluated in closed form per FFT bin."""
        settings = self._profile.delay
        period = _delay_samples(settings, self._bpm, self._sample_rate)
        bins = np.arange(fft_len // 2 + 1, dtype=np.int64)
        freq = bins.astype(np.float32) * np.float32(self._sample_rate / fft_len)
        # exp(-j w D) from the exact integer phase, so long buffers keep precision
        phase = (((bins * period) % fft_len) * (2.0 * math.pi / fft_len)).astype(np.float32)
        cos, sin = np.cos(phase), np.sin(phase)
        # Zero-phase band-limit of the return, and a gentler low-pass inside the loop so
        # every repeat is a little darker.
        lowpass = np.float32(settings.lowpass_hz)
        band = np.float32(1.0) / np.sqrt(
            (1.0 + (np.float32(settings.highpass_hz) / np.maximum(freq, 1e-3)) ** 4)
            * (1.0 + (freq / lowpass) ** 4)
        )
        loop = np.float32(min(max(settings.feedback, 0.0), 0.95)) / np.sqrt(
            1.0 + (freq / lowpass) ** 2
        )
        delay = np.empty((2, bins.shape[0]), dtype=np.complex64)
        if settings.ping_pong:
            # left: odd repeats  band z / (1 - g^2 z^2); right: even  band g z^2 / (...)
            # with z = exp(-j w D), written out in real arithmetic (much faster).
            cos2, sin2 = cos * cos - sin * sin, 2.0 * cos * sin
            gain2 = loop * loop
            den_re, den_im = 1.0 - gain2 * cos2, gain2 * sin2
            scale = band / (den_re * den_re + den_im * den_im)
            delay[0].real = scale * (cos * den_re - sin * den_im)
            delay[0].imag = -scale * (sin * den_re + cos * den_im)
            scale *= loop
            delay[1].real = scale * (cos2 * den_re - sin2 * den_im)
            delay[1].imag = -scale * (sin2 * den_re + cos2 * den_im)
        else:
            # band z / (1 - g z)
            den_re, den_im = 1.0 - loop * cos, loop * sin
            scale = band / (den_re * den_re + den_im * den_im)
            delay[0].real = scale * (cos * den_re - sin * den_im)
            delay[0].imag = -scale * (sin * den_re + cos * den_im)
            delay[1] = delay[0]
        return delay

    def add_wet(self, out: FloatArray, reverb_send: float, delay_send: float) -> None:
        """Add to ``out`` (2, n) the stereo return of its mono sum (the send), in place.

        The send is taken a few blocks at a time (one batched FFT call), each block before
        the ring of the one before it lands there (a ring is never longer than a block): no
        track-length send buffer.
        """
        fft_len, block = self.layout(reverb_send > 0.0, delay_send > 0.0)
        # The mono send's 1/2 rides on the response (exact: a power of two).
        response = np.zeros((2, fft_len // 2 + 1), dtype=np.complex64)
        if reverb_send > 0.0:
            response += self._spectrum("reverb", fft_len) * np.float32(0.5 * reverb_send)
        if delay_send > 0.0:
            response += self._spectrum("delay", fft_len) * np.float32(0.5 * delay_send)
        n_samples = out.shape[-1]
        starts = list(range(0, n_samples, block))
        per_call = max(1, _SEND_BATCH_SAMPLES // fft_len)
        # One set of buffers for every call: fresh ones would page-fault each time.
        frames = np.zeros((per_call, fft_len), dtype=np.float32)
        spectra_out = np.empty((per_call, fft_len // 2 + 1), dtype=np.complex64)
        product = np.empty((per_call, 2, fft_len // 2 + 1), dtype=np.complex64)
        wet_out = np.empty((per_call, 2, fft_len), dtype=np.float32)

        def take_send(row: int, start: int) -> None:
            stop = min(n_samples, start + block)
            np.add(out[0, start:stop], out[1, start:stop], out=frames[row, : stop - start])
            frames[row, stop - start :] = 0.0

        take_send(0, 0)
        for first in range(0, len(starts), per_call):
            group = starts[first : first + per_call]
            for row, start in enumerate(group[1:], start=1):
                take_send(row, start)
            sending = np.flatnonzero(frames[: len(group)].any(axis=1))
            count = sending.size
            if count:  # silent blocks ring nothing: parts that rest skip their FFTs
                rows = frames[sending] if count < len(group) else frames[: len(group)]
                rfft(rows, fft_len, out=spectra_out[:count])
            # The next group's first block, dry, before this group's rings land on it.
            following = group[-1] + block
            if following < n_samples:
                take_send(0, following)
            if not count:
                continue
            np.multiply(spectra_out[:count, np.newaxis, :], response, out=product[:count])
            wet = irfft(product[:count], fft_len, workers=-1, out=wet_out[:count])
            for index, row in enumerate(sending.tolist()):
                start = group[row]
                stop = min(n_samples, start + fft_len)
                out[:, start:stop] += wet[index, :, : stop - start]


def mix_stems(
    stems: dict[str, FloatArray],
    profile: MixProfile,
    *,
    sample_rate: int,
    bpm: float,
    kick_onsets: npt.NDArray[np.int64],
    in_place: bool = False,
) -> dict[str, FloatArray]:
    """Process each stem for ``profile``: filters, gain, stereo image, ducking and sends.

    Each returned stem carries its own reverb/delay returns, so the pre-master is exactly the
    sum of the returned stems.

    Parameters
    ----------
    stems : dict[str, ndarray], shape (2, n_samples), float32
        All of one length.
    profile : MixProfile
    sample_rate : int
        Hz.
    bpm : float
        Sets the delay time.
    kick_onsets : ndarray, shape (n_kicks,), int64
        Sample indices of the kicks that drive the sidechain ducking.
    in_place : bool
        Reuse the input buffers for the output (for callers that no longer need the raw
        stems: saves memory and page faults).

    Returns
    -------
    dict[str, ndarray], shape (2, n_samples), float32
        Same keys as ``stems``.

    Raises
    ------
    ValueError
        For mismatched shapes or a non-positive ``bpm``.
    """
    if not stems:
        return {}
    shapes = {audio.shape for audio in stems.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2 or next(iter(shapes))[0] != 2:
        raise ValueError(f"stems must all be (2, n) arrays of one length, got {shapes}")
    n_samples = next(iter(shapes))[1]
    with StemMixer(
        list(stems),
        profile,
        sample_rate=sample_rate,
        bpm=bpm,
        kick_onsets=kick_onsets,
        n_samples=n_samples,
        in_place=in_place,
    ) as mixer:
        for name, audio in stems.items():
            mixer.add(name, audio)
        return mixer.result()


class StemMixer:
    """Process stems (see :func:`mix_stems`) on worker threads as they are handed over, so
    a stem can be mixed while the renderer is still playing the next ones.

    ``names`` are every stem that will be added (they decide whether the sidechain envelope
    and the send responses are built). ``add`` each one once, then ``result()`` waits for
    them. A context manager: leaving it waits for running work and drops queued work.
    Each stem is processed on its own, so the result is the same whatever the thread
    timing. Raises ``ValueError`` for a non-positive ``bpm``, an unknown name or a stem of
    the wrong shape.

    With ``spill_dir``, each processed stem is parked in a file there (a
    :class:`SpilledStem`) and its buffer let go, so a long track never holds every stem in
    memory at once (five 120 s stems are 210 MB); :func:`finish_spilled` then sums them.
    """

    def __init__(
        self,
        names: Sequence[str],
        profile: MixProfile,
        *,
        sample_rate: int,
        bpm: float,
        kick_onsets: npt.NDArray[np.int64],
        n_samples: int,
        in_place: bool = False,
        spill_dir: Path | None = None,
    ) -> None:
        if bpm <= 0:
            raise ValueError(f"bpm must be positive, got {bpm}")
        self._settings = {name: profile.stem(name) for name in names}
        self._spill_dir = spill_dir
        self._sample_rate = sample_rate
        self._n_samples = n_samples
        self._in_place = in_place
        onsets = np.asarray(kick_onsets, dtype=np.int64)
        threads = min(len(self._settings), _MIX_THREADS)
        # Filters, FFTs and numpy release the GIL: on several cores stems mix side by side.
        self._pool = (
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="musewave-mix")
            if threads > 1
            else None
        )
        self._mixed: dict[str, Future[Any] | FloatArray | SpilledStem] = {}
        self._added: set[str] = set()
        # What the stems share (the sidechain envelope, the send spectra) is built
        # on the mix threads while the caller renders the first stem, not before it starts.
        self._shared: _MixShared | None = _MixShared(
            self._settings, profile, onsets, sample_rate, bpm, n_samples, self._pool
        )

    def __enter__(self) -> StemMixer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Wait for running work, drop queued work, and let go of the stems, envelopes and
        send spectra (callers may keep the mixer around, e.g. in an ``ExitStack``: the
        stems then go as soon as their writers are done with them)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._mixed = {}
        self._shared = None

    def add(self, name: str, audio: FloatArray) -> None:
        """Hand over stem ``name`` (2, n_samples): processed in place when ``in_place``."""
        if name not in self._settings or name in self._added:
            raise ValueError(f"stem {name!r} was not announced or was added twice")
        if audio.shape != (2, self._n_samples):
            raise ValueError(f"stem {name!r} must be (2, {self._n_samples}), got {audio.shape}")
        self._added.add(name)
        source = np.asarray(audio, dtype=np.float32)
        if not np.any(source):  # silent: nothing to filter or send
            if self._spill_dir is not None:
                self._mixed[name] = SpilledStem(None, (2, self._n_samples), 0.0)
            else:
                self._mixed[name] = source if self._in_place else np.zeros_like(source)
        elif self._pool is None:
            self._mixed[name] = self._process(name, source)
        else:
            self._mixed[name] = self._pool.submit(self._process, name, source)

    def result(self) -> dict[str, Any]:
        """The processed stems, in the order of ``names`` (those added): arrays, or
        :class:`SpilledStem` with ``spill_dir``."""
        return {
            name: mixed.result() if isinstance(mixed, Future) else mixed
            for name in self._settings
            if (mixed := self._mixed.get(name)) is not None
        }

    def _process(self, name: str, source: FloatArray) -> FloatArray | SpilledStem:
        out = self._process_array(name, source)
        if self._spill_dir is None:
            return out
        return SpilledStem.park(out, self._spill_dir / f"{name}.f32")

    def _process_array(self, name: str, source: FloatArray) -> FloatArray:
        shared = self._shared
        if shared is None:
            raise RuntimeError("the mixer is closed")
        settings = self._settings[name]
        # Each stem waits only for the shared parts it uses.
        duck = shared.duck() if settings.sidechain_depth_db > 0.0 else None
        out = _process_dry(source, settings, self._sample_rate, duck, in_place=self._in_place)
        if settings.sends:
            returns = shared.returns()
            assert returns is not None  # built whenever a stem sends
            returns.add_wet(out, settings.reverb_send, settings.delay_send)
        return out


class _MixShared:
    """What the stems of one mix share, each part built on ``pool`` (or at once without
    one) and waited for by the first stem that needs it: the sidechain envelope (None when
    no stem ducks or there is no kick) and the send spectra (None without sends)."""

    def __init__(
        self,
        settings: dict[str, StemSettings],
        profile: MixProfile,
        onsets: npt.NDArray[np.int64],
        sample_rate: int,
        bpm: float,
        n_samples: int,
        pool: ThreadPoolExecutor | None,
    ) -> None:
        def start(build: Callable[[], Any]) -> Future[Any]:
            if pool is not None:
                return pool.submit(build)
            done: Future[Any] = Future()
            done.set_result(build())
            return done

        # The send spectra first: the longest to build, and the first stem usually sends.
        self._returns = start(partial(_build_returns, settings, profile, sample_rate, bpm))
        self._duck = start(partial(_build_duck, settings, profile, onsets, sample_rate, n_samples))

    def returns(self) -> _SendReturns | None:
        result: _SendReturns | None = self._returns.result()
        return result

    def duck(self) -> FloatArray | None:
        result: FloatArray | None = self._duck.result()
        return result


def _build_returns(
    settings: dict[str, StemSettings], profile: MixProfile, sample_rate: int, bpm: float
) -> _SendReturns | None:
    senders = [s for s in settings.values() if s.sends]
    if not senders:
        return None
    returns = _SendReturns(profile, sample_rate, bpm)
    # Every sender's spectra built once here, not raced for by the threads.
    for s in senders:
        returns.prepare(s.reverb_send > 0.0, s.delay_send > 0.0)
    return returns


def _build_duck(
    settings: dict[str, StemSettings],
    profile: MixProfile,
    onsets: npt.NDArray[np.int64],
    sample_rate: int,
    n: int,
) -> FloatArray | None:
    if not onsets.size or not any(s.sidechain_depth_db > 0.0 for s in settings.values()):
        return None
    return sidechain_envelope(
        onsets, n, sample_rate=sample_rate, release_ms=profile.sidechain_release_ms
    )


VOCAL_STEM = "vocals"
_VOCAL_FLOOR_DB = 40.0  # the voice counts as singing within this many dB of its peak
_VOCAL_RANGE_DB = 15.0  # and fully so this far above that floor
_VOCAL_SMOOTH_MS = 60.0


def vocal_activity(vocals: FloatArray, *, sample_rate: int) -> FloatArray:
    """How much the voice sings per sample, 0–1: its short-term level mapped from
    ``_VOCAL_FLOOR_DB`` below its peak (0) to ``_VOCAL_RANGE_DB`` above that (1), smoothed.

    Parameters
    ----------
    vocals : ndarray, shape (2, n), float32
    sample_rate : int
        Hz.

    Returns
    -------
    ndarray, shape (n,), float32
    """
    window = max(1, round(_VOCAL_SMOOTH_MS * 1e-3 * sample_rate))
    power = uniform_filter1d(np.mean(vocals * vocals, axis=0), window, mode="constant")
    peak = float(np.max(power))
    if peak <= 0.0:
        return np.zeros(vocals.shape[-1], dtype=np.float32)
    level_db = 10.0 * np.log10(np.maximum(power, peak * 1e-12) / peak)
    activity = np.clip((level_db + _VOCAL_FLOOR_DB) / _VOCAL_RANGE_DB, 0.0, 1.0)
    # Held through the gaps between words, so the parts do not pump syllable by syllable.
    held = maximum_filter1d(activity, 4 * window)
    return np.asarray(uniform_filter1d(held, 2 * window), dtype=np.float32)


def make_room_for_vocals(
    stems: dict[str, FloatArray], profile: MixProfile, *, sample_rate: int
) -> None:
    """Duck the stems that compete with the ``vocals`` stem while it sings, and cut their
    presence band (``VOCAL_PRESENCE_HZ``) further, per the profile's ``vocal_duck_db`` and
    ``vocal_cut_db``. In place; does nothing without a vocals stem.

    Parameters
    ----------
    stems : dict[str, ndarray], shape (2, n), float32
    profile : MixProfile
    sample_rate : int
        Hz.
    """
    vocals = stems.get(VOCAL_STEM)
    if vocals is None or not np.any(vocals):
        return
    activity = vocal_activity(vocals, sample_rate=sample_rate)
    band = np.asarray(butter(2, VOCAL_PRESENCE_HZ, "bandpass", sample_rate), np.float32)
    ln10_20 = np.float32(math.log(10.0) / 20.0)
    for name, audio in stems.items():
        settings = profile.stem(name)
        if name == VOCAL_STEM or (not settings.vocal_duck_db and not settings.vocal_cut_db):
            continue
        if settings.vocal_cut_db:
            presence = sosfilt(band, audio).astype(np.float32)
            cut = np.float32(1.0) - np.exp(activity * (-settings.vocal_cut_db * ln10_20))
            presence *= cut
            audio -= presence
        if settings.vocal_duck_db:
            audio *= np.exp(activity * (-settings.vocal_duck_db * ln10_20))


def kick_onsets(score: Score, *, sample_rate: int) -> npt.NDArray[np.int64]:
    """Sample indices of the score's kick drums, sorted: the sidechain key.

    Parameters
    ----------
    score : Score
    sample_rate : int
        Hz.

    Returns
    -------
    ndarray, shape (n_kicks,), int64
    """
    ticks = [
        n.start_tick for p in score.parts if p.is_drums for n in p.notes if n.pitch in KICK_KEYS
    ]
    seconds = np.asarray(sorted(ticks), dtype=np.float64) * score.seconds_per_tick()
    return np.round(seconds * sample_rate).astype(np.int64)


def fold_loop_tail(stems: dict[str, FloatArray], *, n_samples: int) -> dict[str, FloatArray]:
    """Add what rings past the loop point onto the start, so the file loops seamlessly.

    Parameters
    ----------
    stems : dict[str, ndarray], shape (2, m), float32
        Rendered past the loop point: ``n_samples <= m <= 2 * n_samples``.
    n_samples : int
        The loop length.

    Returns
    -------
    dict[str, ndarray], shape (2, n_samples), float32
        New buffers, same keys.
    """
    folded = {name: audio[:, :n_samples].copy() for name, audio in stems.items()}
    for name, body in folded.items():
        tail = stems[name][:, n_samples:]
        body[:, : tail.shape[1]] += tail
    return folded


def apply_headroom(
    stems: dict[str, FloatArray], *, peak_dbfs: float = STEM_PEAK_DBFS
) -> FloatArray:
    """Scale every stem by one gain so neither they nor their sum peak above ``peak_dbfs``
    (so none clips when written to 16 bit), and return the sum: the pre-master.

    Parameters
    ----------
    stems : dict[str, ndarray], shape (2, n_samples), float32
        Scaled in place: copies would cost 40 MB per stem-minute.
    peak_dbfs : float
        Sample-peak ceiling in dBFS.

    Returns
    -------
    ndarray, shape (2, n_samples), float32
    """
    buffers = list(stems.values())
    premaster = np.empty_like(buffers[0], dtype=np.float32)
    peak = _sum_in_blocks(buffers, premaster, source_peaks=True)
    gain = np.float32(10 ** (peak_dbfs / 20) / peak) if peak > 0 else np.float32(1.0)
    for audio in stems.values():
        audio *= gain
    premaster *= gain
    return premaster


def _sum_in_blocks(
    sources: Sequence[FloatArray | SpilledStem], out: FloatArray, *, source_peaks: bool
) -> float:
    """``out`` (2, n) becomes the sum of ``sources``, one cache-sized block at a time: the same
    order and samples as ``np.sum`` over a stacked array, without the stacked copy, so both
    headroom paths (stems in memory, stems spilled to files) give the same pre-master.

    Returns the largest absolute sample of the sum, and of every source block too when
    ``source_peaks`` (taken while the block is in cache, from max/min: no |x| temporaries).
    """
    peak = 0.0
    if not sources:
        out[...] = 0.0
        return peak
    for start in range(0, out.shape[-1], _IN_PLACE_BLOCK):
        total = out[:, start : start + _IN_PLACE_BLOCK]
        for index, source in enumerate(sources):
            block = source[:, start : start + _IN_PLACE_BLOCK]
            if index == 0:
                total[...] = block
            else:
                total += block
            if source_peaks:
                peak = max(peak, float(block.max()), -float(block.min()))
        peak = max(peak, float(total.max()), -float(total.min()))
    return peak


class SpillFailed(OSError):
    """A mixed stem could not be parked in its file (disk full, I/O error)."""


@dataclass(frozen=True)
class SpilledStem:
    """A processed stem parked in a file of raw float32 samples, channels first, until the
    headroom gain is known; read back a block at a time, times ``gain``.

    Shaped like the (2, n) array it stands for: ``stem[:, start:stop]`` reads that block
    (a new float32 array) and ``np.asarray(stem)`` reads it all. ``path`` None: silence.
    ``peak`` is the largest absolute sample before ``gain``.
    """

    path: Path | None
    shape: tuple[int, int]
    peak: float
    gain: float = 1.0  # a float32 value
    ndim = 2
    dtype = np.dtype(np.float32)

    @classmethod
    def park(cls, audio: FloatArray, path: Path) -> SpilledStem:
        """Write ``audio`` (2, n) float32 to ``path`` and describe it; ``SpillFailed`` if
        it cannot be written (nothing is left at ``path``)."""
        peak = max(float(audio.max()), -float(audio.min())) if audio.size else 0.0
        try:
            np.ascontiguousarray(audio, dtype=np.float32).tofile(path)
        except OSError as error:
            path.unlink(missing_ok=True)
            detail = error.strerror or str(error)
            raise SpillFailed(
                error.errno, f"cannot park a stem in {path.parent}: {detail}"
            ) from error
        return cls(path, (int(audio.shape[0]), int(audio.shape[1])), peak)

    def __getitem__(self, index: tuple[slice, slice]) -> FloatArray:
        rows, columns = index
        if rows != slice(None) or columns.step not in (None, 1):
            raise IndexError("a spilled stem reads [:, start:stop] blocks only")
        start, stop, _ = columns.indices(self.shape[1])
        stop = max(start, stop)
        block = np.zeros((self.shape[0], stop - start), dtype=np.float32)
        if self.path is not None and stop > start:
            with self.path.open("rb") as file:
                for channel in range(self.shape[0]):
                    file.seek((channel * self.shape[1] + start) * 4)
                    file.readinto(memoryview(block[channel]).cast("B"))
        if self.gain != 1.0:
            block *= np.float32(self.gain)
        return block

    def __array__(self, dtype: Any = None, copy: Any = None) -> FloatArray:
        audio = self[:, :]
        return audio if dtype is None else audio.astype(dtype, copy=False)

    def discard(self) -> None:
        """Delete the file (the stem is no longer needed)."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def finish_spilled(
    spilled: dict[str, SpilledStem], *, n_samples: int, peak_dbfs: float = STEM_PEAK_DBFS
) -> tuple[dict[str, SpilledStem], FloatArray]:
    """:func:`finish_mix` for stems a :class:`StemMixer` spilled (no loop tail): their sum,
    the pre-master, read back block by block, and the one headroom gain of
    :func:`apply_headroom` (the same samples), which the returned stems carry.

    Parameters
    ----------
    spilled : dict[str, SpilledStem]
        All shaped (2, n_samples).
    n_samples : int
    peak_dbfs : float
        Sample-peak ceiling in dBFS.

    Returns
    -------
    (dict[str, SpilledStem], ndarray)
        The stems with their ``gain`` set, and the pre-master, (2, n_samples) float32.
    """
    if any(stem.shape[-1] != n_samples for stem in spilled.values()):
        raise ValueError(f"spilled stems must all be {n_samples} samples long")
    premaster = np.empty((2, n_samples), dtype=np.float32)
    peak = max((stem.peak for stem in spilled.values()), default=0.0)
    peak = max(peak, _sum_in_blocks(list(spilled.values()), premaster, source_peaks=False))
    gain = np.float32(10 ** (peak_dbfs / 20) / peak) if peak > 0 else np.float32(1.0)
    premaster *= gain
    stems = {name: dataclasses.replace(s, gain=float(gain)) for name, s in spilled.items()}
    return stems, premaster


class MixResult(NamedTuple):
    """The mixed stems and their sum, the pre-master: float32, (2, n)."""

    stems: dict[str, FloatArray]
    premaster: FloatArray


def mix(
    stems: dict[str, FloatArray],
    score: Score,
    profile: MixProfile,
    *,
    sample_rate: int,
    n_samples: int,
    in_place: bool = False,
) -> MixResult:
    """The mix stage: make room for a ``vocals`` stem, process the rendered stems, fold a
    loop's tail back, leave headroom.

    Parameters
    ----------
    stems : dict[str, ndarray], shape (2, m), float32
        Rendered stems, all of one length ``m >= n_samples``.
    score : Score
        What was rendered: its kicks key the sidechain and its tempo times the delay.
    profile : MixProfile
    sample_rate : int
        Hz.
    n_samples : int
        Length of the result; audio past it (a loop's tail) is folded onto the start.
    in_place : bool
        Take over the input buffers: they are processed in place and ``stems`` is emptied.

    Returns
    -------
    MixResult
        Stems with the same keys and the pre-master, shape (2, n_samples), float32, all
        peaking at most ``STEM_PEAK_DBFS``.
    """
    kicks = kick_onsets(score, sample_rate=sample_rate)
    if not in_place and VOCAL_STEM in stems:
        stems = {name: audio.copy() for name, audio in stems.items()}
    make_room_for_vocals(stems, profile, sample_rate=sample_rate)
    mixed = mix_stems(
        stems, profile, sample_rate=sample_rate, bpm=score.bpm, kick_onsets=kicks, in_place=in_place
    )
    if in_place:
        stems.clear()  # so a folded loop frees the rendered buffers before the headroom pass
    return finish_mix(mixed, n_samples=n_samples)


def finish_mix(mixed: dict[str, FloatArray], *, n_samples: int) -> MixResult:
    """The end of the mix stage for processed stems (from :func:`mix_stems` or a
    :class:`StemMixer`): fold a loop's tail back onto the start, leave headroom.

    Parameters
    ----------
    mixed : dict[str, ndarray], shape (2, m), float32
        ``m >= n_samples``; scaled in place.
    n_samples : int
        Length of the result.

    Returns
    -------
    MixResult
    """
    if any(audio.shape[-1] > n_samples for audio in mixed.values()):
        mixed = fold_loop_tail(mixed, n_samples=n_samples)
    return MixResult(mixed, apply_headroom(mixed))
