"""Mix: per-stem EQ, stereo image, sidechain ducking and reverb/delay sends.

Every operation here is linear in each stem (the sidechain is a gain curve fixed by the kick
onsets, the sends are convolutions), so the pre-master is exactly the sum of the returned stems
and nothing needs to happen on the sum: bus compression and limiting belong to ``master``.

Audio is float32, shape ``(2, n)`` (channels first), full scale 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType

import numpy as np
import numpy.typing as npt
import scipy.fft
from scipy import ndimage, signal

FloatArray = npt.NDArray[np.float32]

# Ducking reaches full depth over this long, centred on the kick, so the gain never steps.
SIDECHAIN_ATTACK_MS = 4.0
_HIGHPASS_ORDER = 4  # 24 dB/octave: keeps 40-120 Hz for kick and bass
_LOWPASS_ORDER = 2
_MONO_BELOW_ORDER = 4
_IR_SEED = 1770  # fixed so the same profile always reverberates identically
# A send's ring is kept until it has decayed this far (the FFT buffer must hold it).
_RING_FLOOR = 1e-4
_MAX_DELAY_RING_S = 30.0
# Overlap-add block for the sends (~12 s at 44.1 kHz): FFTs stay cache-sized and the reverb
# and delay spectra are cheap to build, about 2x faster than one FFT over the whole track.
_OLA_BLOCK = 1 << 19


# Samples per block when filtering in place (about 1.5 s at 44.1 kHz).
_IN_PLACE_BLOCK = 65_536


@dataclass(frozen=True)
class StemSettings:
    """How one stem sits in the mix.

    ``pan`` -1 (left) … 1 (right), constant power, unity at centre. ``width`` scales the side
    signal: 0 mono, 1 as rendered, >1 wider. Sends (0–1) feed the profile's reverb and delay.
    ``sidechain_depth_db`` ducks the stem under each kick; ``mono_below_hz`` removes stereo
    content below that frequency (keeps bass mono).
    """

    gain_db: float = 0.0
    highpass_hz: float | None = None
    lowpass_hz: float | None = None
    pan: float = 0.0
    width: float = 1.0
    reverb_send: float = 0.0
    delay_send: float = 0.0
    sidechain_depth_db: float = 0.0
    mono_below_hz: float | None = None


NEUTRAL_STEM = StemSettings()


@dataclass(frozen=True)
class ReverbSettings:
    """The shared reverb. ``decay_s`` is RT60 (time to fall 60 dB) at low frequencies;
    ``damping`` 0–1 makes highs die faster; the wet return is band-limited to
    ``highpass_hz``–``lowpass_hz``."""

    decay_s: float = 1.8
    pre_delay_ms: float = 25.0
    damping: float = 0.5
    highpass_hz: float = 250.0
    lowpass_hz: float = 9000.0
    width: float = 1.0


@dataclass(frozen=True)
class DelaySettings:
    """The shared delay. ``time_beats`` 0.75 is a dotted 8th; ``feedback`` is the gain of each
    repeat; ping-pong alternates repeats left/right; repeats darken through ``lowpass_hz``."""

    time_beats: float = 0.75
    feedback: float = 0.35
    ping_pong: bool = True
    highpass_hz: float = 300.0
    lowpass_hz: float = 5000.0


@dataclass(frozen=True)
class BusCompression:
    """Gentle glue compression, applied by ``master``.

    ``threshold_db`` is a short-term K-weighted level (LUFS) once the master has brought the
    programme to ``master.WORKING_LUFS`` (-18 LUFS), so -16 means "the passages 2 LU louder
    than average"."""

    threshold_db: float = -16.0
    ratio: float = 2.0
    attack_ms: float = 30.0
    release_ms: float = 200.0


@dataclass(frozen=True)
class MasterTone:
    """Master EQ and colour, applied by ``master``: shelves (dB at their corner), an optional
    low-pass and tape-style saturation (``saturation_drive_db`` 0 = clean)."""

    low_shelf_db: float = 0.0
    low_shelf_hz: float = 100.0
    high_shelf_db: float = 0.0
    high_shelf_hz: float = 8000.0
    lowpass_hz: float | None = None
    saturation_drive_db: float = 0.0


@dataclass(frozen=True)
class MixProfile:
    """Everything the mix and master do for one genre."""

    name: str
    stems: Mapping[str, StemSettings] = field(hash=False)
    reverb: ReverbSettings = ReverbSettings()
    delay: DelaySettings = DelaySettings()
    bus: BusCompression = BusCompression()
    tone: MasterTone = MasterTone()
    sidechain_release_ms: float = 180.0

    def stem(self, name: str) -> StemSettings:
        """Settings for ``name``; stems the profile does not list pass through unchanged."""
        return self.stems.get(name, NEUTRAL_STEM)


# Roles shared by most genres: kick and bass own 40-120 Hz, everything else is high-passed
# (MUSIC.md "Mix and master targets"); genre rows below adjust these with ``replace``. Drums
# carry the kick, so they get no high-pass here (the master's 20 Hz DC filter cleans below).
_DRUMS = StemSettings(mono_below_hz=120.0, reverb_send=0.06)
_BASS = StemSettings(highpass_hz=30.0, lowpass_hz=5000.0, mono_below_hz=150.0)
_CHORDS = StemSettings(gain_db=-2.0, highpass_hz=140.0, width=1.15, reverb_send=0.18)
_PADS = StemSettings(gain_db=-4.0, highpass_hz=160.0, width=1.3, reverb_send=0.3)
_LEAD = StemSettings(gain_db=-1.0, highpass_hz=180.0, reverb_send=0.15, delay_send=0.12)


def _stems(**settings: StemSettings) -> Mapping[str, StemSettings]:
    return MappingProxyType(settings)


MIX_PROFILES: dict[str, MixProfile] = {
    p.name: p
    for p in (
        MixProfile(
            "default",
            _stems(drums=_DRUMS, bass=_BASS, chords=_CHORDS, pads=_PADS, lead=_LEAD),
        ),
        MixProfile(
            "lofi",
            _stems(
                drums=replace(_DRUMS, lowpass_hz=9000.0, reverb_send=0.08),
                bass=replace(_BASS, lowpass_hz=2500.0, sidechain_depth_db=2.0),
                chords=replace(_CHORDS, highpass_hz=150.0, lowpass_hz=7000.0, width=1.2),
                pads=replace(_PADS, lowpass_hz=6000.0, reverb_send=0.35),
                lead=replace(_LEAD, lowpass_hz=7000.0, reverb_send=0.2, delay_send=0.15),
            ),
            reverb=ReverbSettings(
                decay_s=1.8, pre_delay_ms=30.0, damping=0.7, highpass_hz=250.0, lowpass_hz=6000.0
            ),
            delay=DelaySettings(time_beats=0.75, feedback=0.3, lowpass_hz=3500.0),
            bus=BusCompression(threshold_db=-17.0, ratio=2.0, attack_ms=30.0, release_ms=250.0),
            tone=MasterTone(
                low_shelf_db=1.0,
                low_shelf_hz=120.0,
                high_shelf_db=-1.0,
                high_shelf_hz=6000.0,
                lowpass_hz=10000.0,
                saturation_drive_db=6.0,
            ),
            sidechain_release_ms=150.0,
        ),
        MixProfile(
            "hiphop",
            _stems(
                drums=replace(_DRUMS, gain_db=1.0, reverb_send=0.07),
                bass=replace(_BASS, sidechain_depth_db=3.0),
                chords=replace(_CHORDS, highpass_hz=140.0, reverb_send=0.15),
                pads=replace(_PADS, reverb_send=0.25),
                lead=replace(_LEAD, delay_send=0.1),
            ),
            reverb=ReverbSettings(decay_s=1.4, pre_delay_ms=25.0, damping=0.6),
            delay=DelaySettings(time_beats=0.5, feedback=0.3, lowpass_hz=4000.0),
            bus=BusCompression(threshold_db=-16.0, ratio=2.5, attack_ms=20.0, release_ms=150.0),
            tone=MasterTone(
                low_shelf_db=1.0, low_shelf_hz=90.0, lowpass_hz=16000.0, saturation_drive_db=3.0
            ),
            sidechain_release_ms=140.0,
        ),
        MixProfile(
            "trap",
            _stems(
                drums=replace(_DRUMS, reverb_send=0.05),
                bass=replace(_BASS, gain_db=1.0, lowpass_hz=3000.0, sidechain_depth_db=4.0),
                chords=replace(_CHORDS, highpass_hz=180.0, reverb_send=0.2),
                pads=replace(_PADS, highpass_hz=200.0, reverb_send=0.35),
                lead=replace(_LEAD, highpass_hz=250.0, reverb_send=0.18, delay_send=0.18),
            ),
            reverb=ReverbSettings(decay_s=1.8, pre_delay_ms=30.0, damping=0.5),
            delay=DelaySettings(time_beats=0.75, feedback=0.35),
            bus=BusCompression(threshold_db=-16.0, ratio=2.0, attack_ms=20.0, release_ms=150.0),
            tone=MasterTone(
                low_shelf_db=1.5,
                low_shelf_hz=70.0,
                high_shelf_db=1.5,
                high_shelf_hz=10000.0,
                saturation_drive_db=2.0,
            ),
            sidechain_release_ms=120.0,
        ),
        MixProfile(
            "house",
            _stems(
                drums=replace(_DRUMS, reverb_send=0.05),
                bass=replace(_BASS, sidechain_depth_db=6.0),
                chords=replace(_CHORDS, sidechain_depth_db=3.0, reverb_send=0.2),
                pads=replace(_PADS, sidechain_depth_db=6.0, reverb_send=0.3),
                lead=replace(_LEAD, sidechain_depth_db=2.0, delay_send=0.15),
            ),
            reverb=ReverbSettings(decay_s=2.0, pre_delay_ms=25.0, damping=0.5),
            delay=DelaySettings(time_beats=0.75, feedback=0.4),
            bus=BusCompression(threshold_db=-16.0, ratio=2.0, attack_ms=10.0, release_ms=120.0),
            tone=MasterTone(high_shelf_db=1.0, high_shelf_hz=9000.0),
            sidechain_release_ms=180.0,
        ),
        MixProfile(
            "techno",
            _stems(
                drums=replace(_DRUMS, reverb_send=0.08),
                bass=replace(_BASS, sidechain_depth_db=8.0, reverb_send=0.05),
                chords=replace(_CHORDS, sidechain_depth_db=4.0, reverb_send=0.25, delay_send=0.1),
                pads=replace(_PADS, sidechain_depth_db=6.0, reverb_send=0.35),
                lead=replace(_LEAD, sidechain_depth_db=3.0, delay_send=0.18),
            ),
            reverb=ReverbSettings(decay_s=2.6, pre_delay_ms=20.0, damping=0.55, highpass_hz=150.0),
            delay=DelaySettings(time_beats=0.75, feedback=0.45, lowpass_hz=4000.0),
            bus=BusCompression(threshold_db=-16.0, ratio=2.0, attack_ms=10.0, release_ms=120.0),
            tone=MasterTone(low_shelf_db=1.0, low_shelf_hz=60.0),
            sidechain_release_ms=200.0,
        ),
        MixProfile(
            "synthwave",
            _stems(
                drums=replace(_DRUMS, reverb_send=0.16),  # big gated-room snare
                bass=replace(_BASS, sidechain_depth_db=4.0),
                chords=replace(_CHORDS, sidechain_depth_db=2.0, width=1.3),
                pads=replace(_PADS, sidechain_depth_db=4.0, width=1.5, reverb_send=0.35),
                lead=replace(_LEAD, reverb_send=0.22, delay_send=0.22),
            ),
            reverb=ReverbSettings(decay_s=2.8, pre_delay_ms=30.0, damping=0.4, lowpass_hz=11000.0),
            delay=DelaySettings(time_beats=0.5, feedback=0.4),
            bus=BusCompression(threshold_db=-16.0, ratio=2.0, attack_ms=20.0, release_ms=200.0),
            tone=MasterTone(high_shelf_db=1.0, high_shelf_hz=8000.0, saturation_drive_db=2.0),
            sidechain_release_ms=200.0,
        ),
        MixProfile(
            "dnb",
            _stems(
                drums=replace(_DRUMS, gain_db=1.0, reverb_send=0.06),
                bass=replace(_BASS, sidechain_depth_db=4.0),
                chords=replace(_CHORDS, reverb_send=0.22),
                pads=replace(_PADS, sidechain_depth_db=3.0, reverb_send=0.35),
                lead=replace(_LEAD, delay_send=0.15),
            ),
            reverb=ReverbSettings(decay_s=2.0, pre_delay_ms=20.0, damping=0.5),
            delay=DelaySettings(time_beats=0.75, feedback=0.35),
            bus=BusCompression(threshold_db=-16.0, ratio=2.5, attack_ms=10.0, release_ms=100.0),
            tone=MasterTone(high_shelf_db=1.0, high_shelf_hz=10000.0),
            sidechain_release_ms=100.0,
        ),
        MixProfile(
            "ambient",
            _stems(
                drums=replace(_DRUMS, gain_db=-3.0, reverb_send=0.25),
                bass=replace(_BASS, gain_db=-2.0, reverb_send=0.1),
                chords=replace(_CHORDS, highpass_hz=120.0, width=1.3, reverb_send=0.45),
                pads=replace(_PADS, gain_db=-2.0, highpass_hz=100.0, width=1.6, reverb_send=0.55),
                lead=replace(_LEAD, reverb_send=0.5, delay_send=0.25),
            ),
            reverb=ReverbSettings(
                decay_s=6.0,
                pre_delay_ms=40.0,
                damping=0.4,
                highpass_hz=150.0,
                lowpass_hz=8000.0,
                width=1.2,
            ),
            delay=DelaySettings(time_beats=1.5, feedback=0.5, lowpass_hz=3500.0),
            bus=BusCompression(threshold_db=-15.0, ratio=1.3, attack_ms=50.0, release_ms=400.0),
            tone=MasterTone(high_shelf_db=-1.0, high_shelf_hz=9000.0),
        ),
        MixProfile(
            "pop",
            _stems(
                drums=_DRUMS,
                bass=replace(_BASS, sidechain_depth_db=2.0),
                chords=_CHORDS,
                pads=_PADS,
                lead=replace(_LEAD, gain_db=0.0, reverb_send=0.16, delay_send=0.14),
            ),
            reverb=ReverbSettings(decay_s=1.8, pre_delay_ms=30.0, damping=0.5),
            delay=DelaySettings(time_beats=0.75, feedback=0.3),
            bus=BusCompression(threshold_db=-16.0, ratio=2.0, attack_ms=30.0, release_ms=200.0),
            tone=MasterTone(high_shelf_db=1.5, high_shelf_hz=10000.0),
            sidechain_release_ms=150.0,
        ),
        MixProfile(
            "rock",
            _stems(
                drums=replace(_DRUMS, gain_db=1.0, reverb_send=0.12),
                bass=replace(_BASS, lowpass_hz=6000.0),
                chords=replace(
                    _CHORDS, gain_db=0.0, highpass_hz=100.0, width=1.35, reverb_send=0.1
                ),  # double-tracked guitars
                pads=replace(_PADS, reverb_send=0.2),
                lead=replace(_LEAD, highpass_hz=150.0, reverb_send=0.14, delay_send=0.1),
            ),
            reverb=ReverbSettings(decay_s=1.3, pre_delay_ms=20.0, damping=0.5),
            delay=DelaySettings(time_beats=0.75, feedback=0.3),
            bus=BusCompression(threshold_db=-16.0, ratio=2.5, attack_ms=30.0, release_ms=150.0),
            tone=MasterTone(
                low_shelf_db=0.5, high_shelf_db=1.0, high_shelf_hz=8000.0, saturation_drive_db=2.0
            ),
        ),
        MixProfile(
            "jazz",
            _stems(
                drums=replace(_DRUMS, gain_db=-1.0, reverb_send=0.12),
                bass=replace(_BASS, highpass_hz=35.0, mono_below_hz=120.0),
                chords=replace(_CHORDS, gain_db=0.0, highpass_hz=80.0, reverb_send=0.16),
                pads=replace(_PADS, highpass_hz=120.0, reverb_send=0.25),
                lead=replace(_LEAD, highpass_hz=120.0, reverb_send=0.2, delay_send=0.0),
            ),
            reverb=ReverbSettings(decay_s=1.6, pre_delay_ms=25.0, damping=0.6),
            bus=BusCompression(threshold_db=-15.0, ratio=1.5, attack_ms=40.0, release_ms=300.0),
            tone=MasterTone(low_shelf_db=0.5, low_shelf_hz=150.0, high_shelf_db=-0.5),
        ),
        MixProfile(
            "cinematic",
            _stems(
                drums=replace(_DRUMS, reverb_send=0.25, width=1.2),  # taiko in a hall
                bass=replace(_BASS, reverb_send=0.1),
                chords=replace(_CHORDS, gain_db=0.0, highpass_hz=80.0, width=1.3, reverb_send=0.35),
                pads=replace(_PADS, highpass_hz=100.0, width=1.5, reverb_send=0.4),
                lead=replace(_LEAD, highpass_hz=120.0, reverb_send=0.35, delay_send=0.05),
            ),
            reverb=ReverbSettings(
                decay_s=3.5, pre_delay_ms=35.0, damping=0.45, highpass_hz=150.0, width=1.2
            ),
            delay=DelaySettings(time_beats=1.0, feedback=0.3, lowpass_hz=4000.0),
            bus=BusCompression(threshold_db=-14.0, ratio=1.5, attack_ms=50.0, release_ms=400.0),
            tone=MasterTone(low_shelf_db=1.0, low_shelf_hz=80.0),
        ),
        MixProfile(
            "piano",
            _stems(
                # one piano across the stems: keep its low register
                bass=replace(
                    _BASS, highpass_hz=28.0, lowpass_hz=None, mono_below_hz=100.0, reverb_send=0.2
                ),
                chords=replace(_CHORDS, gain_db=0.0, highpass_hz=40.0, width=1.1, reverb_send=0.22),
                pads=replace(_PADS, highpass_hz=80.0, reverb_send=0.3),
                lead=replace(
                    _LEAD, gain_db=0.0, highpass_hz=60.0, reverb_send=0.22, delay_send=0.0
                ),
            ),
            reverb=ReverbSettings(decay_s=2.2, pre_delay_ms=30.0, damping=0.55, highpass_hz=120.0),
            bus=BusCompression(threshold_db=-14.0, ratio=1.3, attack_ms=50.0, release_ms=400.0),
        ),
        MixProfile(
            "reggae",
            _stems(
                drums=replace(_DRUMS, reverb_send=0.1, delay_send=0.06),  # dub rim echo
                bass=replace(_BASS, gain_db=2.0, lowpass_hz=2500.0),
                chords=replace(_CHORDS, highpass_hz=200.0, reverb_send=0.15, delay_send=0.1),
                pads=replace(_PADS, reverb_send=0.25),
                lead=replace(_LEAD, delay_send=0.15),
            ),
            reverb=ReverbSettings(decay_s=1.5, pre_delay_ms=20.0, damping=0.6),
            delay=DelaySettings(time_beats=0.75, feedback=0.45, lowpass_hz=3000.0),
            bus=BusCompression(threshold_db=-16.0, ratio=2.0, attack_ms=30.0, release_ms=200.0),
            tone=MasterTone(low_shelf_db=1.0, low_shelf_hz=100.0),
        ),
        MixProfile(
            "reggaeton",
            _stems(
                drums=replace(_DRUMS, reverb_send=0.05),
                bass=replace(_BASS, sidechain_depth_db=3.0),
                chords=replace(_CHORDS, reverb_send=0.15),
                pads=replace(_PADS, sidechain_depth_db=2.0, reverb_send=0.3),
                lead=replace(_LEAD, delay_send=0.14),
            ),
            reverb=ReverbSettings(decay_s=1.5, pre_delay_ms=25.0, damping=0.5),
            delay=DelaySettings(time_beats=0.5, feedback=0.3),
            bus=BusCompression(threshold_db=-16.0, ratio=2.5, attack_ms=20.0, release_ms=150.0),
            tone=MasterTone(
                low_shelf_db=1.0, low_shelf_hz=80.0, high_shelf_db=1.0, high_shelf_hz=10000.0
            ),
            sidechain_release_ms=130.0,
        ),
        MixProfile(
            "funk",
            _stems(
                drums=replace(_DRUMS, gain_db=1.0, reverb_send=0.05),
                bass=replace(_BASS, gain_db=1.0, lowpass_hz=6000.0, sidechain_depth_db=1.5),
                chords=replace(_CHORDS, highpass_hz=150.0, reverb_send=0.1),
                pads=replace(_PADS, reverb_send=0.2),
                lead=replace(_LEAD, reverb_send=0.12, delay_send=0.06),
            ),
            reverb=ReverbSettings(decay_s=1.2, pre_delay_ms=20.0, damping=0.5),
            delay=DelaySettings(time_beats=0.5, feedback=0.25),
            bus=BusCompression(threshold_db=-16.0, ratio=2.0, attack_ms=20.0, release_ms=150.0),
            tone=MasterTone(high_shelf_db=1.0, high_shelf_hz=9000.0, saturation_drive_db=1.5),
            sidechain_release_ms=120.0,
        ),
        MixProfile(
            "afrobeats",
            _stems(
                drums=replace(_DRUMS, reverb_send=0.06),
                bass=replace(_BASS, sidechain_depth_db=2.0),
                chords=replace(_CHORDS, highpass_hz=150.0, width=1.25, reverb_send=0.15),
                pads=replace(_PADS, reverb_send=0.3),
                lead=replace(_LEAD, reverb_send=0.16, delay_send=0.14),
            ),
            reverb=ReverbSettings(decay_s=1.6, pre_delay_ms=25.0, damping=0.5),
            delay=DelaySettings(time_beats=0.75, feedback=0.3),
            bus=BusCompression(threshold_db=-16.0, ratio=2.0, attack_ms=20.0, release_ms=150.0),
            tone=MasterTone(high_shelf_db=1.0, high_shelf_hz=10000.0),
            sidechain_release_ms=140.0,
        ),
    )
}


def sidechain_envelope(
    kick_onsets: npt.NDArray[np.int64],
    n_samples: int,
    sample_rate: int,
    release_ms: float,
) -> FloatArray:
    """Ducking amount per sample, shape (n_samples,), 1 at each kick falling to 0 after
    ``release_ms`` along a half cosine (the classic "pump"); 0 before the first kick.

    ``kick_onsets`` are sample indices; those outside ``[0, n_samples)`` are ignored.
    """
    onsets = np.unique(kick_onsets[(kick_onsets >= 0) & (kick_onsets < n_samples)])
    if onsets.size == 0 or n_samples == 0:
        return np.zeros(n_samples, dtype=np.float32)
    release = max(1.0, release_ms * 1e-3 * sample_rate)
    length = math.ceil(release)
    phase = np.arange(length, dtype=np.float32) * np.float32(math.pi / release)
    pump = np.float32(0.5) + np.float32(0.5) * np.cos(phase)
    duck = np.zeros(n_samples, dtype=np.float32)
    # Each kick restarts the pump; it runs until the release ends or the next kick.
    ends = np.minimum(np.append(onsets[1:], n_samples), onsets + length)
    for start, end in zip(onsets.tolist(), ends.tolist(), strict=True):
        duck[start:end] = pump[: end - start]
    attack = max(1, round(SIDECHAIN_ATTACK_MS * 1e-3 * sample_rate))
    # Box-smoothing both ways turns the jump at each kick into a short ramp.
    return np.asarray(ndimage.uniform_filter1d(duck, attack, mode="nearest"), dtype=np.float32)


def _butter(order: int, cutoff_hz: float, kind: str, sample_rate: int) -> npt.NDArray[np.float64]:
    nyquist = sample_rate / 2.0
    cutoff = min(max(cutoff_hz, 1.0), 0.95 * nyquist)
    return np.asarray(signal.butter(order, cutoff, kind, fs=sample_rate, output="sos"))


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


def _pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan, normalised so the centre is unity on both sides."""
    angle = (min(max(pan, -1.0), 1.0) + 1.0) * math.pi / 4.0
    return math.sqrt(2.0) * math.cos(angle), math.sqrt(2.0) * math.sin(angle)


def _sosfilt_in_place(sos: npt.NDArray[np.float32], audio: FloatArray) -> None:
    """``sosfilt`` along the last axis, block by block with carried state, writing back into
    ``audio``: the same result without a second full-length buffer."""
    state = np.zeros((sos.shape[0], *audio.shape[:-1], 2), dtype=np.float32)
    for start in range(0, audio.shape[-1], _IN_PLACE_BLOCK):
        block = audio[..., start : start + _IN_PLACE_BLOCK]
        filtered, state = signal.sosfilt(sos, block, axis=-1, zi=state)
        block[...] = filtered


def _process_dry(
    audio: FloatArray,
    settings: StemSettings,
    sample_rate: int,
    duck: FloatArray | None,
    *,
    in_place: bool = False,
) -> FloatArray:
    """Gain and filters, stereo image, pan and ducking of one stem: a (2, n) copy, or
    ``audio`` itself processed in place when ``in_place``."""
    sos = _stem_sos(settings, sample_rate)
    gain = np.float32(10.0 ** (settings.gain_db / 20.0))
    if in_place:
        out = audio
        if sos is not None:
            _sosfilt_in_place(sos, out)
        else:
            out *= gain
    elif sos is not None:
        out = np.asarray(signal.sosfilt(sos, audio, axis=-1), dtype=np.float32)
    else:
        out = audio * gain
    if settings.width != 1.0 or settings.mono_below_hz:
        # In place: out[0] becomes mid, then mid +/- side (avoids 40 MB temporaries per stem).
        side = out[0] - out[1]
        side *= np.float32(0.5 * settings.width)
        if settings.mono_below_hz and settings.width != 0.0:
            side_sos = _butter(_MONO_BELOW_ORDER, settings.mono_below_hz, "highpass", sample_rate)
            side = np.asarray(signal.sosfilt(side_sos.astype(np.float32), side), np.float32)
        out[0] += out[1]
        out[0] *= np.float32(0.5)
        np.subtract(out[0], side, out=out[1])
        out[0] += side
    left_gain, right_gain = _pan_gains(settings.pan)
    if left_gain != 1.0 or right_gain != 1.0:
        out[0] *= np.float32(left_gain)
        out[1] *= np.float32(right_gain)
    if duck is not None and settings.sidechain_depth_db > 0.0:
        # gain = 10^(-depth * duck / 20), computed as one exp over the envelope
        ducking = duck * np.float32(-settings.sidechain_depth_db * math.log(10.0) / 20.0)
        np.exp(ducking, out=ducking)
        out *= ducking
    return out


@lru_cache(maxsize=8)
def reverb_impulse_response(settings: ReverbSettings, sample_rate: int) -> FloatArray:
    """Stereo impulse response of the reverb, shape (2, m), unit energy per channel.

    Decorrelated noise per channel in three bands that decay at their own RT60 (highs faster
    with ``damping``), a soft diffuse build-up, a few early reflections, all after
    ``pre_delay_ms``. Deterministic (fixed seed). Read-only.
    """
    rng = np.random.default_rng(_IR_SEED)
    pre_delay = round(settings.pre_delay_ms * 1e-3 * sample_rate)
    length = max(16, round(1.3 * settings.decay_s * sample_rate))  # ~-78 dB at the end
    t = np.arange(length) / sample_rate
    noise = rng.standard_normal((2, length))
    low = signal.sosfilt(_butter(2, 500.0, "lowpass", sample_rate), noise, axis=-1)
    high = signal.sosfilt(_butter(2, 4000.0, "highpass", sample_rate), noise, axis=-1)
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
    ir = signal.sosfilt(band, ir, axis=-1)
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
    """Reverb and delay as spectra at one FFT length, shared by every stem of a mix.

    A stem's wet return is its mono send convolved with ``r * h_reverb + d * h_delay``:
    linear in the stem. The convolution is overlap-add in blocks of ``_OLA_BLOCK`` samples
    with an FFT long enough for a block plus the longest ring, so the responses are cheap to
    build and each transform stays cache-sized.
    """

    def __init__(self, profile: MixProfile, sample_rate: int, bpm: float, n_samples: int) -> None:
        ir = reverb_impulse_response(profile.reverb, sample_rate)
        ring = max(ir.shape[-1], _delay_ring_samples(profile.delay, bpm, sample_rate))
        # Blocks at least twice the ring keep the zero-padding overhead of each FFT small.
        self.block = min(max(_OLA_BLOCK, 2 * ring), n_samples)
        self.fft_len = scipy.fft.next_fast_len(self.block + ring, real=True)
        self._reverb: npt.NDArray[np.complex64] | None = None
        self._delay: npt.NDArray[np.complex64] | None = None
        self._ir = ir
        self._profile = profile
        self._sample_rate = sample_rate
        self._bpm = bpm

    def reverb(self) -> npt.NDArray[np.complex64]:
        if self._reverb is None:
            self._reverb = scipy.fft.rfft(self._ir, self.fft_len, axis=-1)
        return self._reverb

    def delay(self) -> npt.NDArray[np.complex64]:
        """Ping-pong (or mono) feedback delay evaluated in closed form per FFT bin."""
        if self._delay is None:
            settings = self._profile.delay
            period = _delay_samples(settings, self._bpm, self._sample_rate)
            bins = np.arange(self.fft_len // 2 + 1, dtype=np.int64)
            freq = bins.astype(np.float32) * np.float32(self._sample_rate / self.fft_len)
            # exp(-j w D) from the exact integer phase, so long buffers keep precision
            phase = (((bins * period) % self.fft_len) * (2.0 * math.pi / self.fft_len)).astype(
                np.float32
            )
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
            self._delay = delay
        return self._delay

    def add_wet(
        self, out: FloatArray, send: FloatArray, reverb_send: float, delay_send: float
    ) -> None:
        """Add to ``out`` (2, n) the stereo return of the mono ``send`` (n,)."""
        if reverb_send > 0.0 and delay_send > 0.0:
            response = self.reverb() * np.float32(reverb_send)
            response += self.delay() * np.float32(delay_send)
        elif reverb_send > 0.0:
            response = self.reverb() * np.float32(reverb_send)
        else:
            response = self.delay() * np.float32(delay_send)
        n_samples = out.shape[-1]
        for start in range(0, n_samples, self.block):
            spectrum = scipy.fft.rfft(send[start : start + self.block], self.fft_len)
            wet = scipy.fft.irfft(response * spectrum, self.fft_len, axis=-1, workers=-1)
            stop = min(n_samples, start + self.fft_len)
            out[:, start:stop] += wet[:, : stop - start]


def mix_stems(
    stems: dict[str, FloatArray],
    profile: MixProfile,
    sample_rate: int,
    bpm: float,
    kick_onsets: npt.NDArray[np.int64],
    *,
    in_place: bool = False,
) -> dict[str, FloatArray]:
    """Process each stem (float32, (2, n), same n) for ``profile``; same keys and shapes.

    Each returned stem carries its own reverb/delay returns, so the pre-master is exactly the
    sum of the returned stems. ``kick_onsets`` (sample indices) drive the sidechain ducking;
    ``bpm`` sets the delay time. ``in_place=True`` reuses the input buffers for the output
    (for callers that no longer need the raw stems: saves memory and page faults). Raises
    ``ValueError`` for mismatched shapes.
    """
    if not stems:
        return {}
    shapes = {audio.shape for audio in stems.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2 or next(iter(shapes))[0] != 2:
        raise ValueError(f"stems must all be (2, n) arrays of one length, got {shapes}")
    if bpm <= 0:
        raise ValueError(f"bpm must be positive, got {bpm}")
    n_samples = next(iter(shapes))[1]
    onsets = np.asarray(kick_onsets, dtype=np.int64)
    ducking = any(profile.stem(name).sidechain_depth_db > 0.0 for name in stems)
    duck = (
        sidechain_envelope(onsets, n_samples, sample_rate, profile.sidechain_release_ms)
        if ducking and onsets.size
        else None
    )
    mixed: dict[str, FloatArray] = {}
    with_sends: list[str] = []
    for name, audio in stems.items():
        settings = profile.stem(name)
        source = np.asarray(audio, dtype=np.float32)
        if not np.any(source):
            mixed[name] = source if in_place else np.zeros_like(source)
            continue
        mixed[name] = _process_dry(source, settings, sample_rate, duck, in_place=in_place)
        if settings.reverb_send > 0.0 or settings.delay_send > 0.0:
            with_sends.append(name)
    if with_sends:
        returns = _SendReturns(profile, sample_rate, bpm, n_samples)
        for name in with_sends:
            settings = profile.stem(name)
            send = np.float32(0.5) * (mixed[name][0] + mixed[name][1])
            returns.add_wet(mixed[name], send, settings.reverb_send, settings.delay_send)
    return mixed
