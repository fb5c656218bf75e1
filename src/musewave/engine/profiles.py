"""Mix and master profiles: the schema and the per-genre table ``mix`` and ``master`` read.

Pure data: no DSP and no numpy, so the profiles can be read and checked without the audio stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType


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
    # Room for a sung vocal: while it sings, the stem dips by ``vocal_duck_db`` and its
    # presence band (``VOCAL_PRESENCE_HZ``) by ``vocal_cut_db`` more.
    vocal_duck_db: float = 0.0
    vocal_cut_db: float = 0.0

    @property
    def sends(self) -> bool:
        """Whether the stem feeds the reverb or the delay (and so gets a wet return)."""
        return self.reverb_send > 0.0 or self.delay_send > 0.0


NEUTRAL_STEM = StemSettings()
VOCAL_PRESENCE_HZ = (900.0, 4500.0)  # where intelligibility lives


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
        """Settings for ``name``; stems the profile does not list take ``DEFAULT_STEMS``'
        settings (the vocals), or pass through unchanged."""
        return self.stems.get(name) or DEFAULT_STEMS.get(name, NEUTRAL_STEM)


# Roles shared by most genres: kick and bass own 40-120 Hz, everything else is high-passed
# (MUSIC.md "Mix and master targets"); genre rows below adjust these with ``replace``. Drums
# carry the kick, so they get no high-pass here (the master's 20 Hz DC filter cleans below).
_DRUMS = StemSettings(mono_below_hz=120.0, reverb_send=0.06)
_BASS = StemSettings(highpass_hz=30.0, lowpass_hz=5000.0, mono_below_hz=150.0)
# Unducked basses: a bass whose notes start on the kicks (the 808s and subs that follow the
# kick, dnb's reese, root and octave 8ths) is not sidechained to the kick. The duck is
# deepest at the kick, so it took each such note's attack and the note was heard swelling in
# 15-40 ms late or not at all (without it, a transcriber found the bass in the mix: trap 0.57
# -> 0.69, synthwave 0.84 -> 0.92, reggaeton 0.62 -> 0.67, dnb 0.45 -> 0.51, hip-hop 0.61 ->
# 0.65 of the written notes, listening bench, three renders each). Kick and bass share the
# low end by tone instead: the basses' attack lives in their harmonics, above the kick's
# band. Ducking stays where the bass plays between the kicks (house's offbeat bass, techno's
# acid line) and on the chords and pads.
_CHORDS = StemSettings(
    gain_db=-2.0,
    highpass_hz=140.0,
    width=1.15,
    reverb_send=0.18,
    vocal_duck_db=1.0,
    vocal_cut_db=4.0,
)
_PADS = StemSettings(
    gain_db=-4.0, highpass_hz=160.0, width=1.3, reverb_send=0.3, vocal_duck_db=2.0, vocal_cut_db=4.0
)
# The lead melody steps back when the voice sings: two melodies at once fight.
_LEAD = StemSettings(
    gain_db=-1.0,
    highpass_hz=180.0,
    reverb_send=0.15,
    delay_send=0.12,
    vocal_duck_db=9.0,
    vocal_cut_db=3.0,
)


# Sung vocals: high-passed under the bass, a plate-like send and a touch of delay.
_VOCALS = StemSettings(gain_db=0.0, highpass_hz=100.0, reverb_send=0.16, delay_send=0.08)
DEFAULT_STEMS: Mapping[str, StemSettings] = MappingProxyType({"vocals": _VOCALS})


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
                bass=_BASS,  # the sub follows the kick: not ducked (see _BASS)
                # Keys low-passed like a sampled record: boom-bap's dusty loop.
                chords=replace(_CHORDS, highpass_hz=140.0, lowpass_hz=6500.0, reverb_send=0.15),
                pads=replace(_PADS, reverb_send=0.25),
                lead=replace(_LEAD, delay_send=0.1),
            ),
            reverb=ReverbSettings(decay_s=1.4, pre_delay_ms=25.0, damping=0.6),
            delay=DelaySettings(time_beats=0.5, feedback=0.3, lowpass_hz=4000.0),
            bus=BusCompression(threshold_db=-16.0, ratio=2.5, attack_ms=20.0, release_ms=150.0),
            tone=MasterTone(
                low_shelf_db=1.0, low_shelf_hz=90.0, lowpass_hz=14000.0, saturation_drive_db=4.5
            ),
            sidechain_release_ms=140.0,
        ),
        MixProfile(
            "trap",
            _stems(
                # The keys and the bell hook carry the beat's melody: 4 dB up from where they
                # sat 11-13 dB under the 808 (a transcriber, like a listener on a phone, lost
                # most of their notes), the bell 3 dB more (at -2 dB, under the 16th hats and
                # the ad-libs, a quarter of the hook came through) and the pad 3 dB up, a bed
                # rather than a hiss. All still sit under the kit's ad-libs, and the kit stays
                # where it is: 1-2 dB more keys and hook, or 2 dB less kit, and the ad-libs no
                # longer carried the beat as hip-hop. Since the pad holds only the tonic (its
                # chords masked the keys: genres, pad_style) and the ad-libs are accented, the
                # bell takes 2 dB more (with no pad, hook recall in the mix 0.33 -> 0.45); 4
                # dB more, before the ad-libs were accented, lost the reading in 3 of 3.
                drums=replace(_DRUMS, reverb_send=0.05),
                # The 808 plays with the kick: not ducked under it (see _BASS).
                bass=replace(_BASS, gain_db=1.0, lowpass_hz=3000.0),
                chords=replace(_CHORDS, gain_db=2.0, highpass_hz=180.0, reverb_send=0.2),
                pads=replace(_PADS, gain_db=-6.0, highpass_hz=200.0, reverb_send=0.35),
                lead=replace(
                    _LEAD, gain_db=3.0, highpass_hz=250.0, reverb_send=0.18, delay_send=0.18
                ),
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
                # Piano stabs 3 dB forward. The gated pad's chops (written as notes, see
                # GenreProfile.gates) up front with them: half of each 8th is silence, and at
                # the held pad's -4 dB two in three chops were lost under the kit and bass.
                chords=replace(_CHORDS, gain_db=1.0, sidechain_depth_db=3.0, reverb_send=0.2),
                pads=replace(_PADS, gain_db=3.0, sidechain_depth_db=6.0, reverb_send=0.3),
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
                pads=replace(_PADS, gain_db=3.0, sidechain_depth_db=6.0, reverb_send=0.35),
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
                # The gated supersaw wall and pad are written as their chops (see
                # GenreProfile.gates), so they come forward as parts of the groove: 6 and 8 dB
                # further back, most chops were masked by the bass line and the lead.
                # The bass line's octave 8ths play on the kicks: not ducked (see _BASS).
                bass=replace(_BASS, gain_db=2.0),
                chords=replace(_CHORDS, gain_db=0.0, sidechain_depth_db=2.0, width=1.3),
                pads=replace(
                    _PADS, gain_db=4.0, sidechain_depth_db=4.0, width=1.5, reverb_send=0.35
                ),
                # The lead 3 dB back, inside the supersaw wall rather than over it.
                lead=replace(_LEAD, gain_db=-2.0, reverb_send=0.22, delay_send=0.22),
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
                # The break on top (a quiet break with loud pads was heard at half tempo),
                # 2 dB further over the forward piano and pad chops than over the others (at 1
                # dB one render in three was heard at half tempo and two barely "fast"; at 3
                # dB the break hid more notes). The reese 1 dB down keeps its balance to the
                # break, with every stem inside the profiles' +6 dB.
                drums=replace(_DRUMS, gain_db=6.0, reverb_send=0.06),
                # The reese follows the break's kicks: not ducked (see _BASS).
                bass=replace(_BASS, gain_db=-1.0),
                # Piano stabs forward, as in liquid dnb, above the reese's saw harmonics
                # (genres: chord_center). The sampled piano sits lower than the Rhodes did:
                # 3 dB louder the piano came through, but the mix read as less fast.
                chords=replace(_CHORDS, gain_db=5.0, reverb_send=0.22),
                # The pad's offbeat chops are written in the score (GenreProfile.gates) an
                # octave over the piano: forward, as the gated parts of house and synthwave
                # are (at -2 dB nine in ten chops were masked; gated in the mix, its 86 ms
                # 16ths had been a tremolo heard as chords struck again, not as notes).
                pads=replace(_PADS, gain_db=4.0, sidechain_depth_db=3.0, reverb_send=0.35),
                lead=replace(_LEAD, delay_send=0.15),
            ),
            reverb=ReverbSettings(decay_s=2.0, pre_delay_ms=20.0, damping=0.5),
            delay=DelaySettings(time_beats=0.75, feedback=0.35),
            bus=BusCompression(threshold_db=-16.0, ratio=2.5, attack_ms=10.0, release_ms=100.0),
            # Air on the break's hats and shaker (white noise is what the tagger calls "fast").
            tone=MasterTone(high_shelf_db=3.0, high_shelf_hz=6000.0),
            sidechain_release_ms=100.0,
        ),
        MixProfile(
            "ambient",
            _stems(
                drums=replace(_DRUMS, gain_db=-3.0, reverb_send=0.25),
                bass=replace(_BASS, gain_db=-2.0, reverb_send=0.1),
                # The synth pad keeps its top end, though the bell melody is lost under it
                # (the bell is mostly heard as the pad's notes an octave or a twelfth below,
                # struck again): low-passed at 1.2 kHz, mix F1 rose 0.42 -> 0.49 and 0.43 ->
                # 0.53 on held-out seeds (the bell's recall in the mix 0.17 -> 0.50), but
                # without its filter sweep the pad was tagged strings, not synth (3/3 -> 2/3
                # and 1/3; at 2.4 kHz as well). A darker string pad alone, the pad 3 dB down
                # or a drier bell gained nothing.
                # Less of the 6 s wash on the pads (0.45 and 0.55 sends): each chord's tail
                # under the next was heard as its tones struck again (mix F1 +0.03); halved
                # again (0.2 and 0.25 before), fewer held tones heard re-struck (+0.02).
                chords=replace(_CHORDS, highpass_hz=120.0, width=1.3, reverb_send=0.1),
                pads=replace(_PADS, gain_db=-2.0, highpass_hz=100.0, width=1.6, reverb_send=0.12),
                # The pluck melody dry of the delay: its dotted-half repeats (feedback 0.5)
                # were heard as notes, struck again inside the held ones (soloed lead F1 0.64
                # -> 0.91). A short send to the hall: at 0.3 the soloed pluck was heard as
                # strings/guitar, not synth, in 2 of 9 renders, at 0.12 in 1 (mix F1 alike).
                lead=replace(_LEAD, reverb_send=0.12, delay_send=0.0),
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
                bass=_BASS,  # root 8ths, on the kicks: not ducked (see _BASS)
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
                # Double-tracked rhythm guitars. High-passed at 200 Hz instead, a transcriber
                # heard rock's bass and chords better (mix F1 0.65 -> 0.70 over five renders)
                # but the guitars lost the weight that makes a crunchy indie rock prompt rock.
                # 1.5 dB under the rest: their layered tone (render.voices, guitar_distorted)
                # is denser than the sample alone, and level with it the loudness-matched
                # master pulled the lead and the kit down 1.5-2 dB.
                chords=replace(
                    _CHORDS, gain_db=-1.5, highpass_hz=100.0, width=1.35, reverb_send=0.1
                ),
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
                # The string chords in front of the choir pad that doubles them: with the
                # choir the louder of the two, its slow swells hid the chord changes.
                # 3 dB further down (-11 dB) the choir gained nothing (mix F1 0.64 both).
                chords=replace(_CHORDS, gain_db=2.0, highpass_hz=80.0, width=1.3, reverb_send=0.35),
                pads=replace(_PADS, gain_db=-8.0, highpass_hz=100.0, width=1.5, reverb_send=0.4),
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
                # A round, deep bass: flatwounds with the tone knob rolled off.
                bass=replace(_BASS, gain_db=2.0, lowpass_hz=700.0),
                chords=replace(_CHORDS, highpass_hz=200.0, reverb_send=0.15, delay_send=0.1),
                # The organ bubble level with the skank (at -3 dB one render in nine still
                # had "electronic" on top: the louder a mix, the more the MSD tagger says
                # electronic, and the organ is what pulls it to jazz/pop).
                pads=replace(_PADS, gain_db=0.0, reverb_send=0.1),
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
                # The dembow and its shouts up front; the guitar and marimba hook behind them.
                # The marimba 2 dB under the other melodic parts, not 6 (where the synth lead it
                # replaced sat): its short notes were found in the mix one in ten times.
                drums=replace(_DRUMS, gain_db=3.0, reverb_send=0.05),
                bass=_BASS,  # the 808 follows the dembow's kick: not ducked (see _BASS)
                chords=replace(_CHORDS, reverb_send=0.15),
                pads=replace(_PADS, gain_db=-5.0, sidechain_depth_db=2.0, reverb_send=0.3),
                lead=replace(_LEAD, gain_db=-2.0, delay_send=0.14),
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
                # The 16th scratch tucked behind the bass and horns and darkened: level with
                # them, its bright machine-steady chops made "disco funk" heard as electro;
                # 5 dB under them a transcriber lost two in three of its chords, 3 dB keeps
                # the groove behind the horns and the chords heard; at -1.5 dB, with the
                # ghost scratches louder (compose.harmony.SCRATCH_VELOCITY), 0.6 of its
                # chord notes are found in the mix, not 0.5.
                chords=replace(
                    _CHORDS, gain_db=-1.5, highpass_hz=150.0, lowpass_hz=4000.0, reverb_send=0.1
                ),
                pads=replace(_PADS, gain_db=-2.0, highpass_hz=200.0, reverb_send=0.12),  # horns
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
                # Percussion-led: shakers, congas and rim up front, the guitar riff 2 dB behind
                # them (level with the drums, with a marimba hook, it was heard as
                # indie/country; 9 dB under them its notes were mostly lost, and 4 dB under
                # the 16th shakers still hid two in five of them; with the kit pulled back
                # the groove was no longer heard as dance/funk).
                drums=replace(_DRUMS, gain_db=3.0, reverb_send=0.06),
                bass=replace(_BASS, sidechain_depth_db=2.0),
                chords=replace(
                    _CHORDS, gain_db=1.0, highpass_hz=150.0, width=1.25, reverb_send=0.15
                ),
                pads=replace(_PADS, reverb_send=0.3),
                lead=replace(_LEAD, gain_db=-4.0, reverb_send=0.16, delay_send=0.14),
            ),
            reverb=ReverbSettings(decay_s=1.6, pre_delay_ms=25.0, damping=0.5),
            delay=DelaySettings(time_beats=0.75, feedback=0.3),
            bus=BusCompression(threshold_db=-16.0, ratio=2.0, attack_ms=20.0, release_ms=150.0),
            tone=MasterTone(high_shelf_db=1.0, high_shelf_hz=10000.0),
            sidechain_release_ms=140.0,
        ),
    )
}
