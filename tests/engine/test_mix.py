"""Mix stage: per-stem linearity, sidechain, low-end management, sends, loop fold, headroom."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from scipy import ndimage, signal

from musewave.engine.mix import (
    SIDECHAIN_ATTACK_MS,
    STEM_PEAK_DBFS,
    SpilledStem,
    SpillFailed,
    StemMixer,
    _pan_gains,
    _SendReturns,
    apply_headroom,
    finish_mix,
    finish_spilled,
    fold_loop_tail,
    kick_onsets,
    mix,
    mix_stems,
    reverb_impulse_response,
    sidechain_envelope,
)
from musewave.engine.profiles import MIX_PROFILES, NEUTRAL_STEM, MixProfile, StemSettings
from musewave.engine.score import TICKS_PER_BEAT, Note, Part, Score

SR = 44_100
BPM = 120.0
Audio = npt.NDArray[np.float32]


def kicks(seconds: float, bpm: float = BPM) -> npt.NDArray[np.int64]:
    return np.round(np.arange(0.0, seconds, 60.0 / bpm) * SR).astype(np.int64)


def run(stems: dict[str, Audio], profile: MixProfile, kick_s: float) -> dict[str, Audio]:
    """``mix_stems`` at ``BPM`` with a kick on every beat for ``kick_s`` seconds."""
    return mix_stems(stems, profile, sample_rate=SR, bpm=BPM, kick_onsets=kicks(kick_s))


def music_stems(seconds: float, seed: int = 0) -> dict[str, Audio]:
    """Five short music-like stems: decaying notes, noise bursts, a drone."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    beat = 60.0 / BPM
    since_beat = t % beat
    kick = np.sin(2 * np.pi * 55 * t) * np.exp(-since_beat / 0.12)
    hats = rng.standard_normal(n) * np.exp(-(t % (beat / 2)) / 0.015) * 0.2
    bass = 0.4 * np.sin(2 * np.pi * np.where(t % (4 * beat) < 2 * beat, 55.0, 73.4) * t)
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    chords = 0.2 * chord * np.exp(-(t % (4 * beat)) / 1.0)
    pad = 0.1 * np.sin(2 * np.pi * 110 * t + np.sin(2 * np.pi * 0.3 * t))
    lead = 0.2 * np.sin(2 * np.pi * 880 * t) * np.exp(-(t % (1.5 * beat)) / 0.2)
    stereo = {
        "drums": np.stack([kick + hats, kick + 0.8 * hats]),
        "bass": np.stack([bass, bass]),
        "chords": np.stack([chords, 0.7 * chords]),
        "pads": np.stack([pad, np.roll(pad, 200)]),
        "lead": np.stack([lead, lead]),
    }
    return {name: audio.astype(np.float32) for name, audio in stereo.items()}


def rms(audio: npt.NDArray[np.floating]) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def tone_level(audio: npt.NDArray[np.floating], freq: float) -> float:
    """Amplitude of ``freq`` in a 1-D signal (Hann-windowed DFT bin)."""
    window = np.hanning(audio.shape[-1])
    spectrum = np.fft.rfft(audio * window)
    index = round(freq * audio.shape[-1] / SR)
    return float(np.abs(spectrum[index - 2 : index + 3]).max() * 2 / window.sum())


def test_missing_stem_settings_are_neutral() -> None:
    profile = MixProfile("bare", {})
    assert profile.stem("bass") == NEUTRAL_STEM
    out = run({"fx": music_stems(1.0)["lead"]}, profile, 1.0)
    np.testing.assert_allclose(out["fx"], music_stems(1.0)["lead"], atol=1e-6)


@pytest.mark.parametrize("profile_name", ["default", "house", "ambient", "lofi"])
def test_returns_same_keys_shapes_and_dtype(profile_name: str) -> None:
    stems = music_stems(3.0)
    out = run(stems, MIX_PROFILES[profile_name], 3.0)
    assert out.keys() == stems.keys()
    for name, audio in out.items():
        assert audio.shape == stems[name].shape
        assert audio.dtype == np.float32
        assert np.all(np.isfinite(audio))


@pytest.mark.parametrize("profile_name", ["house", "ambient", "techno"])
def test_mix_is_linear_in_each_stem(profile_name: str) -> None:
    profile = MIX_PROFILES[profile_name]
    a, b = music_stems(4.0, seed=1), music_stems(4.0, seed=2)
    b = {name: np.roll(audio, 5000, axis=-1) for name, audio in b.items()}
    together = run({name: a[name] + b[name] for name in a}, profile, 4.0)
    mixed_a = run(a, profile, 4.0)
    mixed_b = run(b, profile, 4.0)
    for name in a:
        error = rms(mixed_a[name] + mixed_b[name] - together[name])
        assert error <= 1e-3 * rms(together[name]), name  # -60 dB


def test_each_returned_stem_depends_only_on_its_own_input() -> None:
    """So the pre-master (the sum of the returned stems) carries every stem's own sends."""
    profile = MIX_PROFILES["synthwave"]
    stems = music_stems(3.0)
    all_together = run(stems, profile, 3.0)
    for name, audio in stems.items():
        alone = run({name: audio}, profile, 3.0)[name]
        np.testing.assert_allclose(alone, all_together[name], atol=1e-5)


def test_sidechain_ducks_bass_right_after_each_kick() -> None:
    profile = MIX_PROFILES["house"]
    assert profile.stem("bass").sidechain_depth_db >= 4.0
    n = 4 * SR
    t = np.arange(n) / SR
    bass = np.tile(0.3 * np.sin(2 * np.pi * 60 * t), (2, 1)).astype(np.float32)
    onsets = kicks(4.0)
    out = run({"bass": bass}, profile, 4.0)["bass"]
    after = [rms(out[:, k + 200 : k + 1500]) for k in onsets[1:-1]]
    between = [rms(out[:, k + 13_000 : k + 20_000]) for k in onsets[1:-1]]
    ducked_db = 20 * np.log10(np.mean(after) / np.mean(between))
    assert ducked_db < -4.0


def test_sidechain_envelope_is_continuous_and_zero_without_kicks() -> None:
    assert not sidechain_envelope(
        np.array([], np.int64), 1000, sample_rate=SR, release_ms=150.0
    ).any()
    envelope = sidechain_envelope(kicks(2.0, bpm=480.0), 2 * SR, sample_rate=SR, release_ms=150.0)
    assert envelope.max() == pytest.approx(1.0, abs=0.01)
    assert np.abs(np.diff(envelope)).max() < 0.02  # ramps, never steps


def test_sidechain_envelope_smooths_across_its_blocks_like_one_filter() -> None:
    # Three blocks long with kicks near every block edge: the blocks' seams must not show.
    n = 3 * 65_536 + 1_000
    onsets = np.array([0, 65_530, 65_540, 131_000, 131_072, 196_600, n - 3], np.int64)
    envelope = sidechain_envelope(onsets, n, sample_rate=SR, release_ms=100.0)
    raw = np.zeros(n, np.float32)
    ends = np.minimum(np.append(onsets[1:], n), onsets + round(0.1 * SR) + 1)
    for start, end in zip(onsets, ends, strict=True):
        release = 0.1 * SR
        raw[start:end] = 0.5 + 0.5 * np.cos(np.arange(end - start) * np.float32(np.pi / release))
    attack = max(1, round(SIDECHAIN_ATTACK_MS * 1e-3 * SR))
    whole = ndimage.uniform_filter1d(raw, attack, mode="nearest")
    np.testing.assert_allclose(envelope, whole, atol=1e-6)


def test_bass_is_mono_below_its_cutoff() -> None:
    settings = MIX_PROFILES["default"].stem("bass")
    assert settings.mono_below_hz is not None and settings.mono_below_hz >= 120.0
    t = np.arange(3 * SR) / SR
    low_side = 0.3 * np.sin(2 * np.pi * 60 * t)
    high_side = 0.1 * np.sin(2 * np.pi * 1000 * t)
    side = low_side + high_side
    bass = np.stack([side, -side]).astype(np.float32)  # pure side signal
    out = run({"bass": bass}, MIX_PROFILES["default"], 0.0)["bass"]
    out_side = 0.5 * (out[0] - out[1])[SR:]
    assert tone_level(out_side, 60.0) < 10 ** (-30 / 20) * 0.3
    assert tone_level(out_side, 1000.0) > 0.5 * 0.1


def test_highpass_removes_lows_from_chords() -> None:
    settings = MIX_PROFILES["default"].stem("chords")
    assert settings.highpass_hz is not None and 100.0 <= settings.highpass_hz <= 150.0
    t = np.arange(3 * SR) / SR
    chords = np.tile(0.3 * np.sin(2 * np.pi * 50 * t) + 0.3 * np.sin(2 * np.pi * 1000 * t), (2, 1))
    out = run({"chords": chords.astype(np.float32)}, MIX_PROFILES["default"], 3.0)["chords"]
    steady = out[0, SR:]
    assert tone_level(steady, 50.0) < 0.3 * 10 ** (-24 / 20)
    assert tone_level(steady, 1000.0) > 0.3 * 10 ** (-4 / 20)


def test_sends_have_pre_delay_and_keep_attacks_dry() -> None:
    profile = MIX_PROFILES["pop"]
    click = np.zeros((2, SR), np.float32)
    click[:, 1000] = 1.0
    settings = StemSettings(reverb_send=0.5)
    out = run({"x": click}, MixProfile("t", {"x": settings}, reverb=profile.reverb), 0.0)["x"]
    pre_delay = round(profile.reverb.pre_delay_ms * 1e-3 * SR)
    assert np.abs(out[:, 1001 : 1000 + pre_delay - 50]).max() < 1e-4
    assert np.abs(out[:, 1000 + pre_delay : 1000 + pre_delay + 4000]).max() > 1e-3


def _delay_impulse_response(returns: _SendReturns, delay_send: float) -> npt.NDArray[np.float64]:
    """The delay return of a unit impulse on one channel, (2, ring): the delay exists only as
    a spectrum, so its impulse response is what it makes of an impulse in a stem's first block
    (the mono send's 1/2 included)."""
    fft_len, block = returns.layout(False, True)
    impulse = np.zeros((2, fft_len), np.float32)
    impulse[0, 0] = 1.0
    returns.add_wet(impulse, 0.0, delay_send)
    impulse[0, 0] -= 1.0
    return impulse[:, : fft_len - block].astype(np.float64)


@pytest.mark.parametrize("blocks_per_call", [1, None], ids=["one-block-calls", "batched"])
@pytest.mark.parametrize(
    ("reverb_send", "delay_send"), [(0.4, 0.0), (0.0, 0.3), (0.4, 0.3)], ids=["rev", "dly", "both"]
)
@pytest.mark.parametrize("length_blocks", [0.3, 4.5], ids=["under-a-block", "blocks"])
def test_send_returns_are_the_direct_convolution_of_the_send(
    monkeypatch: pytest.MonkeyPatch,
    reverb_send: float,
    delay_send: float,
    blocks_per_call: int | None,
    length_blocks: float,
) -> None:
    """The overlap-add returns equal the mono send convolved in one piece with the reverb's
    impulse response and the delay's, to float32 precision: impulses on the last sample of a
    block and the first of the next (their rings straddle the block edge), a silent block that
    a ring lands in, the blocks grouped per FFT call or one at a time, and a stem shorter than
    one block."""
    returns = _SendReturns(MIX_PROFILES["house"], SR, BPM)
    fft_len, block = returns.layout(reverb_send > 0.0, delay_send > 0.0)
    if blocks_per_call is not None:
        monkeypatch.setattr("musewave.engine.mix._SEND_BATCH_SAMPLES", blocks_per_call * fft_len)
    n = round(length_blocks * block)
    rng = np.random.default_rng(11)
    stem = (0.05 * rng.standard_normal((2, n))).astype(np.float32)
    edges = list(range(block, n, block))
    for edge in edges:
        stem[:, edge - 1] += (0.8, 0.5)
        stem[:, edge] -= (0.3, 0.6)
    stem[:, n // 7] += 1.0
    if len(edges) >= 3:
        # A silent third block (no FFT of its own) that block two's rings land in.
        stem[:, edges[1] : edges[2]] = 0.0
    out = stem.copy()
    returns.add_wet(out, reverb_send, delay_send)
    wet = out.astype(np.float64) - stem

    responses = []
    if reverb_send > 0.0:
        reverb = reverb_impulse_response(MIX_PROFILES["house"].reverb, sample_rate=SR)
        responses.append(0.5 * reverb_send * reverb)
    if delay_send > 0.0:
        responses.append(_delay_impulse_response(returns, delay_send))
    # Summed at their own lengths: whichever of the two rings longer.
    response = np.zeros((2, max(part.shape[-1] for part in responses)))
    for part in responses:
        response[:, : part.shape[-1]] += part
    send = stem[0].astype(np.float64) + stem[1]
    direct = np.stack([signal.fftconvolve(send, channel)[:n] for channel in response])
    # float32 FFTs of up to 2^19 points, and the delay's ring kept to -80 dB: at most 1e-5 of
    # the peak; an overlap-add that loses or misplaces a ring is off by percents.
    np.testing.assert_allclose(wet, direct, rtol=0.0, atol=1e-4 * np.abs(direct).max())


def test_ambient_reverb_decays_60_db_in_4_to_8_seconds() -> None:
    ir = reverb_impulse_response(MIX_PROFILES["ambient"].reverb, sample_rate=SR).astype(np.float64)
    energy = np.sum(ir * ir, axis=0)
    # Schroeder backward integration; T30 (-5 to -35 dB) extrapolated to 60 dB.
    decay = 10 * np.log10(np.cumsum(energy[::-1])[::-1] / energy.sum())
    t5 = np.argmax(decay <= -5.0) / SR
    t35 = np.argmax(decay <= -35.0) / SR
    rt60 = 2.0 * (t35 - t5)
    assert 4.0 <= rt60 <= 8.0


def test_mismatched_stems_raise() -> None:
    stems = music_stems(1.0)
    stems["bass"] = stems["bass"][:, :-10]
    with pytest.raises(ValueError, match="one length"):
        run(stems, MIX_PROFILES["default"], 1.0)


def test_silent_stem_stays_silent() -> None:
    silent = np.zeros((2, SR), np.float32)
    out = run({"pads": silent}, MIX_PROFILES["ambient"], 1.0)
    assert not out["pads"].any()


def test_kick_onsets_are_the_drum_parts_kicks_in_samples() -> None:
    beat = TICKS_PER_BEAT
    drums = Part("drums", "drums", "kit", 0, is_drums=True)
    drums.notes += [Note(36, 2 * beat, 10, 100), Note(38, beat, 10, 100), Note(35, 0, 10, 100)]
    bass = Part("bass", "bass", "bass", 33, notes=[Note(36, 3 * beat, 10, 100)])
    score = Score(bpm=BPM, beats_per_bar=4, total_ticks=4 * beat, parts=[drums, bass])
    onsets = kick_onsets(score, sample_rate=SR)
    assert onsets.dtype == np.int64
    assert onsets.tolist() == [0, SR]  # beats 0 and 2 at 120 BPM; snare and bass ignored


def test_loop_tail_is_folded_onto_the_start() -> None:
    audio = np.arange(2 * 10, dtype=np.float32).reshape(2, 10)
    folded = fold_loop_tail({"x": audio}, n_samples=7)["x"]
    assert folded.shape == (2, 7)
    np.testing.assert_array_equal(folded[:, :3], audio[:, :3] + audio[:, 7:])
    np.testing.assert_array_equal(folded[:, 3:], audio[:, 3:7])


def test_headroom_keeps_stems_and_their_sum_under_the_peak() -> None:
    stems = {"a": np.full((2, 100), 0.9, np.float32), "b": np.full((2, 100), 0.6, np.float32)}
    premaster = apply_headroom(stems)
    peak = 10 ** (STEM_PEAK_DBFS / 20)
    assert float(np.abs(premaster).max()) == pytest.approx(peak, rel=1e-6)
    np.testing.assert_allclose(stems["a"] + stems["b"], premaster, rtol=1e-6)


def test_mix_stage_folds_the_tail_and_sums_to_the_premaster() -> None:
    beat = TICKS_PER_BEAT
    drums = Part("drums", "drums", "kit", 0, True, [Note(36, i * beat, 10, 100) for i in range(6)])
    score = Score(bpm=BPM, beats_per_bar=4, total_ticks=6 * beat, parts=[drums])
    stems = music_stems(4.0)
    n = 3 * SR
    stems_out, premaster = mix(stems, score, MIX_PROFILES["house"], sample_rate=SR, n_samples=n)
    assert stems_out.keys() == stems.keys()
    assert premaster.shape == (2, n) and premaster.dtype == np.float32
    np.testing.assert_allclose(sum(stems_out.values()), premaster, atol=1e-6)
    assert float(np.abs(premaster).max()) <= 10 ** (STEM_PEAK_DBFS / 20) * (1 + 1e-6)


def _imaged(x: npt.NDArray[np.float64], width: float) -> npt.NDArray[np.float64]:
    """The reference stereo image: the side scaled by ``width`` and high-passed at 150 Hz."""
    side = 0.5 * width * (x[0] - x[1])
    side = signal.sosfilt(signal.butter(4, 150.0, "highpass", fs=SR, output="sos"), side)
    mid = 0.5 * (x[0] + x[1])
    return np.stack([mid + side, mid - side])


def test_dry_path_in_blocks_matches_one_whole_track_pass() -> None:
    # mix_stems filters and widens each stem one 65,536-sample block at a time, the
    # filter state carried over; the reference here is each step over the whole track at once.
    n = 3 * 65_536 + 4_321
    settings = StemSettings(
        gain_db=-3.0, highpass_hz=120.0, lowpass_hz=6000.0, width=1.4, mono_below_hz=150.0
    )
    stem = music_stems(n / SR)["chords"] + music_stems(n / SR, seed=1)["drums"]
    out = run({"x": stem.copy()}, MixProfile("t", {"x": settings}), 0.0)["x"]
    x = stem.astype(np.float64) * 10 ** (settings.gain_db / 20)
    for order, cutoff, kind in ((4, 120.0, "highpass"), (2, 6000.0, "lowpass")):
        x = signal.sosfilt(signal.butter(order, cutoff, kind, fs=SR, output="sos"), x, axis=-1)
    reference = _imaged(x, settings.width)
    assert out.shape == (2, n)
    # float32 filtering noise is ~5e-5 of full scale; a filter restarting at a block edge
    # would be a transient far above it.
    np.testing.assert_allclose(out, reference, atol=1e-4 * np.abs(reference).max())


def test_a_stem_mono_in_places_mixes_like_one_filtered_per_channel() -> None:
    # Blocks whose channels are equal are filtered once (their side is silent); a stereo
    # stretch in between leaves the side filter ringing, and the next mono block must not
    # skip it.
    n = 4 * 65_536
    # No high-pass: the side filter's ringing alone must keep the block after it stereo.
    settings = StemSettings(width=1.3, mono_below_hz=150.0, pan=0.3)
    stem = music_stems(n / SR)["chords"]
    stem[1] = stem[0]
    stem[1, 100_000:196_000] *= 0.5  # ends 608 samples before the fourth block
    out = run({"x": stem.copy()}, MixProfile("t", {"x": settings}), 0.0)["x"]
    x = stem.astype(np.float64)
    left, right = _pan_gains(settings.pan)
    reference = _imaged(x, settings.width) * np.array([[left], [right]])
    np.testing.assert_allclose(out, reference, atol=1e-4 * np.abs(reference).max())
    ringing = out[0, 196_608:197_000] / left - out[1, 196_608:197_000] / right
    assert np.abs(ringing).max() > 1e-3 * np.abs(reference).max()


def test_a_resting_part_rings_out_then_stays_exactly_silent() -> None:
    # A block of silence after the filters have rung out is left silent (not filtered into
    # denormals); the ring itself, in the block after the last note, is carried.
    n = 4 * 65_536
    settings = StemSettings(highpass_hz=120.0, width=1.3, mono_below_hz=150.0)
    stem = np.zeros((2, n), np.float32)
    stem[:, 60_000:65_536] = music_stems(0.2)["drums"][:, :5_536]
    out = run({"x": stem.copy()}, MixProfile("t", {"x": settings}), 0.0)["x"]
    x = signal.sosfilt(signal.butter(4, 120.0, "highpass", fs=SR, output="sos"), stem, axis=-1)
    reference = _imaged(x, settings.width)
    np.testing.assert_allclose(out, reference, atol=1e-4 * np.abs(reference).max())
    assert np.abs(out[:, 65_536:66_000]).max() > 1e-3 * np.abs(reference).max()  # the ring
    assert not out[:, 3 * 65_536 :].any()


def test_stems_handed_to_the_mixer_one_by_one_mix_exactly_as_all_at_once() -> None:
    profile = MIX_PROFILES["house"]  # ducking, reverb and delay sends
    stems = music_stems(3.0)
    stems["lead"][:] = 0.0  # a silent stem passes through untouched
    expected = run({name: audio.copy() for name, audio in stems.items()}, profile, 3.0)
    with StemMixer(
        list(stems), profile, sample_rate=SR, bpm=BPM, kick_onsets=kicks(3.0), n_samples=3 * SR
    ) as mixer:
        for name in reversed(stems):  # the order stems finish rendering in does not matter
            mixer.add(name, stems[name])
        mixed = mixer.result()
    assert list(mixed) == list(stems)
    for name, audio in expected.items():
        np.testing.assert_array_equal(mixed[name], audio)
    with pytest.raises(ValueError, match="not announced"):
        mixer.add("lead", stems["lead"])
    with pytest.raises(ValueError, match="bpm"):
        StemMixer(["lead"], profile, sample_rate=SR, bpm=0.0, kick_onsets=kicks(1.0), n_samples=1)


def test_spilled_stems_mix_to_the_same_samples_as_stems_in_memory(tmp_path: Path) -> None:
    profile = MIX_PROFILES["house"]
    stems = music_stems(3.0, seed=4)
    stems["lead"][:] = 0.0  # silence is parked without a file
    n = 3 * SR
    expected_stems, expected_premaster = finish_mix(
        run({name: audio.copy() for name, audio in stems.items()}, profile, 3.0), n_samples=n
    )
    with StemMixer(
        list(stems),
        profile,
        sample_rate=SR,
        bpm=BPM,
        kick_onsets=kicks(3.0),
        n_samples=n,
        in_place=True,
        spill_dir=tmp_path,
    ) as mixer:
        for name in reversed(stems):
            mixer.add(name, stems[name])
        parked = mixer.result()
    assert all(isinstance(stem, SpilledStem) for stem in parked.values())
    assert parked["lead"].path is None and parked["bass"].path is not None
    spilled, premaster = finish_spilled(parked, n_samples=n)
    assert list(spilled) == list(expected_stems)
    np.testing.assert_array_equal(premaster, expected_premaster)
    for name, audio in expected_stems.items():
        np.testing.assert_array_equal(np.asarray(spilled[name]), audio)
        np.testing.assert_array_equal(spilled[name][:, 1000:5000], audio[:, 1000:5000])
        assert spilled[name][:, n - 10 : n + 10].shape == (2, 10)
    with pytest.raises(IndexError):
        spilled["bass"][0, :10]  # type: ignore[index]
    for stem in spilled.values():
        stem.discard()
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="samples long"):
        finish_spilled(parked, n_samples=n + 1)


def test_a_stem_that_cannot_be_parked_fails_and_leaves_nothing(tmp_path: Path) -> None:
    audio = np.ones((2, 100), dtype=np.float32)
    with pytest.raises(SpillFailed, match="cannot park"):
        SpilledStem.park(audio, tmp_path / "missing" / "bass.f32")
    assert not list(tmp_path.iterdir())
