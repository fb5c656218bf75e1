"""Mix and master profiles: every genre has one, and every value is in a sane range."""

from __future__ import annotations

import pytest

from musewave.engine.genres import GENRES
from musewave.engine.profiles import MIX_PROFILES, MixProfile, StemSettings


def test_every_genre_and_default_has_a_profile() -> None:
    assert set(GENRES) | {"default"} == set(MIX_PROFILES)
    for name, profile in MIX_PROFILES.items():
        assert profile.name == name


def test_a_stem_sends_when_either_send_is_up() -> None:
    assert not StemSettings().sends
    assert StemSettings(reverb_send=0.2).sends
    assert StemSettings(delay_send=0.1).sends


@pytest.mark.parametrize("profile", MIX_PROFILES.values(), ids=lambda p: p.name)
def test_values_are_in_sane_ranges(profile: MixProfile) -> None:
    for name, stem in profile.stems.items():
        assert -12.0 <= stem.gain_db <= 6.0, name
        assert stem.highpass_hz is None or 20.0 <= stem.highpass_hz <= 300.0, name
        # A bass may be rolled off low (a dub bass's tone knob); anything else keeps its bite.
        lowest = 500.0 if name == "bass" else 2000.0
        assert stem.lowpass_hz is None or lowest <= stem.lowpass_hz <= 20000.0, name
        assert -1.0 <= stem.pan <= 1.0 and 0.0 <= stem.width <= 2.0, name
        assert 0.0 <= stem.reverb_send <= 1.0 and 0.0 <= stem.delay_send <= 1.0, name
        assert 0.0 <= stem.sidechain_depth_db <= 12.0, name
        assert stem.mono_below_hz is None or 60.0 <= stem.mono_below_hz <= 200.0, name
    reverb, delay, bus, tone = profile.reverb, profile.delay, profile.bus, profile.tone
    assert 0.5 <= reverb.decay_s <= 8.0 and 20.0 <= reverb.pre_delay_ms <= 40.0
    assert 0.0 <= reverb.damping <= 1.0 and reverb.highpass_hz < reverb.lowpass_hz
    assert 0.25 <= delay.time_beats <= 2.0 and 0.0 <= delay.feedback < 0.95
    assert delay.highpass_hz < delay.lowpass_hz
    assert -24.0 <= bus.threshold_db <= -10.0 and 1.0 <= bus.ratio <= 4.0
    assert abs(tone.low_shelf_db) <= 3.0 and abs(tone.high_shelf_db) <= 3.0
    assert tone.lowpass_hz is None or tone.lowpass_hz >= 8000.0
    assert 0.0 <= tone.saturation_drive_db <= 12.0
    assert 50.0 <= profile.sidechain_release_ms <= 400.0


def test_lofi_master_tone_is_low_passed_and_saturated() -> None:
    tone = MIX_PROFILES["lofi"].tone
    assert tone.lowpass_hz is not None and 8000.0 <= tone.lowpass_hz <= 12000.0
    assert tone.saturation_drive_db > 0.0


# Bass lines whose notes start on the kicks (see profiles._BASS).
_ON_THE_KICK = frozenset({"follow_kick", "root_8ths", "octave_8ths"})


@pytest.mark.parametrize(
    "genre", sorted(g for g, p in GENRES.items() if p.bass_style in _ON_THE_KICK)
)
def test_a_bass_that_plays_on_the_kicks_is_not_ducked_under_them(genre: str) -> None:
    """Sidechain ducking is deepest at each kick, so it takes the attack of every bass note
    that starts with one: the note is heard swelling in late, or not at all."""
    assert MIX_PROFILES[genre].stem("bass").sidechain_depth_db == 0.0
