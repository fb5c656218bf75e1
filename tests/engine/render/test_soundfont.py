"""The SF2 sample player, on a tiny SoundFont written here (one looped sine, one preset)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from musewave.engine import GenerationRequest
from musewave.engine.render import render_part, soundfont
from musewave.engine.render.soundfont import SoundFont, SoundFontError
from musewave.engine.soundfont_choice import ENV_VAR

from .conftest import BPM, SR, fundamental_hz, one_note

SAMPLE_RATE = 22050
ROOT_KEY = 60
PERIOD = 84  # samples per cycle: 22050 / 84 = 262.5 Hz, 5 cents sharp of C4


def _chunk(ident: bytes, payload: bytes) -> bytes:
    pad = b"\0" if len(payload) % 2 else b""
    return ident + struct.pack("<I", len(payload)) + payload + pad


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _gens(*pairs: tuple[int, int]) -> bytes:
    return b"".join(struct.pack("<Hh", op, amount) for op, amount in pairs)


def write_sf2(
    path: Path,
    *,
    decay_tc: int = -12000,
    sustain_cb: int = 0,
    extra: tuple[tuple[int, int], ...] = (),
) -> Path:
    """One preset (bank 0, program 0) over keys 48–72 playing a looped sine rooted at C4,
    tuned 5 cents flat to match; plus an empty preset (program 1). ``extra`` generators
    (operator, amount) go into the instrument's global zone."""
    cycles = 100
    wave = np.sin(2 * np.pi * np.arange(PERIOD * cycles) / PERIOD)
    data = (wave * 20000).astype("<i2").tobytes() + bytes(46 * 2)
    # Instrument: a global zone (attack and ``extra``), one sample zone.
    shared = ((34, -2400), (36, decay_tc), (37, sustain_cb), *extra)
    igen = _gens(*shared) + _gens((43, 48 | (72 << 8)), (54, 1), (52, -5), (53, 0))
    ibag = (
        struct.pack("<HH", 0, 0)
        + struct.pack("<HH", len(shared), 0)
        + struct.pack("<HH", len(shared) + 4, 0)
    )
    inst = struct.pack("<20sH", b"sine", 0) + struct.pack("<20sH", b"EOI", 2)
    pgen = _gens((41, 0))
    pbag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 1, 0) + struct.pack("<HH", 1, 0)
    phdr = (
        struct.pack("<20sHHH3I", b"sine", 0, 0, 0, 0, 0, 0)
        + struct.pack("<20sHHH3I", b"empty", 1, 0, 1, 0, 0, 0)
        + struct.pack("<20sHHH3I", b"EOP", 0, 0, 2, 0, 0, 0)
    )
    end = PERIOD * cycles
    shdr = struct.pack(
        "<20s5IBbHH", b"sine", 0, end, PERIOD * 10, PERIOD * 90, SAMPLE_RATE, ROOT_KEY, 0, 0, 1
    ) + struct.pack("<20s5IBbHH", b"EOS", 0, 0, 0, 0, 0, 0, 0, 0, 0)
    pdta = _list(
        b"pdta",
        _chunk(b"phdr", phdr),
        _chunk(b"pbag", pbag),
        _chunk(b"pmod", bytes(10)),
        _chunk(b"pgen", pgen + bytes(4)),
        _chunk(b"inst", inst),
        _chunk(b"ibag", ibag),
        _chunk(b"imod", bytes(10)),
        _chunk(b"igen", igen + bytes(4)),
        _chunk(b"shdr", shdr),
    )
    body = b"sfbk" + _list(b"INFO", _chunk(b"ifil", struct.pack("<HH", 2, 1)))
    body += _list(b"sdta", _chunk(b"smpl", data)) + pdta
    path.write_bytes(_chunk(b"RIFF", body))
    return path


@pytest.fixture
def font(tmp_path: Path) -> SoundFont:
    return SoundFont(write_sf2(tmp_path / "tiny.sf2"))


def test_note_is_resampled_to_its_key_across_the_zone(font: SoundFont) -> None:
    for key in (48, 60, 67, 72):
        audio = font.render_note(0, key, 100, SR, SR)
        expected = 440.0 * 2.0 ** ((key - 69) / 12)
        steady = audio.mean(axis=0)[SR // 4 :]
        assert fundamental_hz(steady, expected) == pytest.approx(expected, rel=0.002), key


def test_looped_sample_holds_past_its_recorded_length(font: SoundFont) -> None:
    audio = font.render_note(0, 60, 100, 4 * SR, SR)  # the sample itself lasts 0.38 s
    tail = np.abs(audio[0, 3 * SR :])
    assert tail.max() > 0.5 * np.abs(audio[0]).max()


def test_attack_and_decay_to_sustain_follow_the_zone_envelope(tmp_path: Path) -> None:
    # Attack 2**(-2400/1200) = 0.25 s; decay 1 s per 100 dB down to a 20 dB sustain.
    font = SoundFont(write_sf2(tmp_path / "env.sf2", decay_tc=0, sustain_cb=200))
    audio = font.render_note(0, 60, 127, 2 * SR, SR)[0]
    early = np.abs(audio[: SR // 20]).max()
    peak = np.abs(audio[SR // 4 - 600 : SR // 4 + 600]).max()
    held = np.abs(audio[int(1.5 * SR) :]).max()
    assert early < 0.3 * peak
    assert 20 * np.log10(held / peak) == pytest.approx(-20.0, abs=1.0)


def test_softer_velocity_is_darker(font: SoundFont) -> None:
    square = font.render_note(0, 60, 127, SR, SR)
    soft = font.render_note(0, 60, 20, SR, SR)
    assert np.abs(soft).max() <= np.abs(square).max() + 1e-6


def test_a_font_that_opens_its_filter_with_the_modulation_envelope_is_swept(
    tmp_path: Path,
) -> None:
    # Cutoff 4000 abs. cents (82 Hz, under the 262 Hz sine), opened 4800 cents by a
    # modulation envelope that falls from 1 to 0 in 1 s: bright early, dark once it closed.
    path = write_sf2(tmp_path / "swept.sf2", extra=((8, 4000), (11, 4800), (28, 0), (29, 1000)))
    swept = SoundFont(path, sweeps_filter=True).render_note(0, 60, 127, 2 * SR, SR)[0]
    static = SoundFont(path).render_note(0, 60, 127, 2 * SR, SR)[0]
    early, late = slice(SR // 4, int(0.3 * SR)), slice(int(1.6 * SR), int(1.9 * SR))
    assert np.abs(swept[early]).max() > 4.0 * np.abs(swept[late]).max()
    assert np.abs(swept[late]).max() == pytest.approx(np.abs(static[late]).max(), rel=0.1)
    assert np.abs(static[early]).max() < 0.3 * np.abs(swept[early]).max()


def test_only_the_fonts_known_to_need_it_sweep_their_filter(tmp_path: Path) -> None:
    assert not SoundFont(write_sf2(tmp_path / "FluidR3_GM.sf2")).sweeps_filter
    assert SoundFont(write_sf2(tmp_path / "TimGM6mb.sf2")).sweeps_filter


def test_keys_outside_every_zone_have_no_sound(font: SoundFont) -> None:
    assert font.zones(0, 47, 100) == []
    assert font.zones(0, 73, 100) == []
    assert not font.has_program(1)
    assert not font.has_program(5)
    with pytest.raises(KeyError):
        font.render_note(0, 30, 100, SR, SR)


def test_a_file_that_is_not_a_soundfont_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF\x04\0\0\0WAVE")
    with pytest.raises(SoundFontError):
        SoundFont(bad)
    empty = tmp_path / "empty.sf2"
    empty.write_bytes(_chunk(b"RIFF", b"sfbk"))
    with pytest.raises(SoundFontError):
        SoundFont(empty)


def test_environment_variable_chooses_the_font_or_turns_samples_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_sf2(tmp_path / "chosen.sf2")
    try:
        monkeypatch.setenv(ENV_VAR, str(path))
        soundfont.reset_default_soundfont()
        chosen = soundfont.default_soundfont()
        assert chosen is not None and chosen.path == path
        assert soundfont.default_soundfont() is chosen  # loaded once
        monkeypatch.setenv(ENV_VAR, "none")
        soundfont.reset_default_soundfont()
        assert soundfont.default_soundfont() is None
        monkeypatch.setenv(ENV_VAR, str(tmp_path / "missing.sf2"))
        soundfont.reset_default_soundfont()
        assert soundfont.default_soundfont() is None  # unreadable: synthesis instead
    finally:
        monkeypatch.delenv(ENV_VAR)
        soundfont.reset_default_soundfont()


def test_without_a_font_every_voice_falls_back_to_synthesis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    try:
        monkeypatch.setenv(ENV_VAR, "none")
        soundfont.reset_default_soundfont()
        synthesised = render_part(one_note("piano", 60), BPM, SR, SR, seed=1)
        monkeypatch.delenv(ENV_VAR)
        soundfont.reset_default_soundfont()
        default = render_part(one_note("piano", 60), BPM, SR, SR, seed=1)
        assert np.isfinite(synthesised).all() and np.abs(synthesised).max() > 0.25
        if soundfont.default_soundfont() is not None:
            assert not np.array_equal(synthesised, default)
    finally:
        soundfont.reset_default_soundfont()


def test_a_general_midi_font_is_found_on_a_standard_install() -> None:
    # pretty_midi's wheel ships one; Debian's fluid-soundfont-gm is preferred when present.
    path = soundfont.soundfont_path()
    assert path is not None and path.is_file()
    font = soundfont.default_soundfont()
    assert font is not None
    for program in (0, 4, 48, 52, 61):
        assert font.has_program(program)


def test_notes_rendered_from_many_threads_match_one_thread(font: SoundFont) -> None:
    from concurrent.futures import ThreadPoolExecutor

    keys = [48, 55, 60, 67, 72] * 4
    alone = [font.render_note(0, k, 90, SR // 4, SR) for k in keys]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda k: font.render_note(0, k, 90, SR // 4, SR), keys))
    for a, b in zip(alone, together, strict=True):
        assert np.array_equal(a, b)


def test_the_font_is_part_of_every_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = GenerationRequest(prompt="warm piano", duration_s=30, seed=5)
    try:
        monkeypatch.setenv(ENV_VAR, str(write_sf2(tmp_path / "chosen.sf2")))
        soundfont.reset_default_soundfont()
        with_font = request.fingerprint()
        assert (
            soundfont.soundfont_identity()
            == f"chosen.sf2:{(tmp_path / 'chosen.sf2').stat().st_size}"
        )
        monkeypatch.setenv(ENV_VAR, "none")
        soundfont.reset_default_soundfont()
        assert soundfont.soundfont_identity() == "none"
        assert request.fingerprint() != with_font  # another font, no stale cache hit
        assert request.fingerprint() == request.fingerprint()
    finally:
        monkeypatch.delenv(ENV_VAR)
        soundfont.reset_default_soundfont()
