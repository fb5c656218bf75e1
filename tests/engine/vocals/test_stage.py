"""The vocals stage inside ``generate``: the files it adds, read back, and how it mixes."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pytest

from musewave.engine import STAGES, Cancelled, InvalidRequest, ProgressEvent, generate
from musewave.engine.mix import make_room_for_vocals
from musewave.engine.pipeline import GenerationResult
from musewave.engine.profiles import MIX_PROFILES
from musewave.engine.request import GenerationRequest
from musewave.engine.validate import decode_audio
from musewave.engine.vocals.captions import parse_lrc, parse_srt, parse_words_json
from musewave.engine.vocals.lyrics import parse_lyrics

LYRICS = """[Verse]
Shadows falling on the city
Every window burning gold
[Chorus]
Sing it louder, sing it longer
"""
SHORT = {"duration_range_s": (5.0, 300.0)}


def _request(**fields: object) -> GenerationRequest:
    base: dict[str, object] = {
        "prompt": "bright pop about the city",
        "genres": ["pop"],
        "seed": 11,
        "duration_s": 16,
        "bpm": 110,
        "formats": ["wav"],
    }
    return GenerationRequest.model_validate({**base, **fields}, context=SHORT)


@pytest.fixture(scope="module")
def sung(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerationResult, list[str]]:
    events: list[ProgressEvent] = []
    request = _request(lyrics=LYRICS, voice="male", stems=["vocals", "lead"], midi=True)
    result = generate(request, tmp_path_factory.mktemp("sung"), events.append)
    progress = [e.progress for e in events]
    assert progress == sorted(progress) and progress[-1] == 100
    return result, [e.stage for e in events]


def _file(result: GenerationResult, name: str) -> Path:
    return next(f.path for f in result.files if f.name == name)


def test_a_sung_track_lists_its_new_files_with_kinds(
    sung: tuple[GenerationResult, list[str]],
) -> None:
    result, stages = sung
    kinds = {f.name: (f.kind, f.media_type) for f in result.files}
    assert kinds["instrumental.wav"] == ("instrumental", "audio/wav")
    assert kinds["stems/vocals.wav"][0] == "stem"
    assert kinds["lyrics.srt"] == ("captions", "application/x-subrip")
    assert kinds["lyrics.lrc"] == ("captions", "text/plain")
    assert kinds["lyrics.json"] == ("captions", "application/json")
    assert kinds["lyrics.txt"] == ("lyrics", "text/plain")
    # A sung track passes every stage but the video (none was asked for).
    assert list(dict.fromkeys(stages)) == [s for s in STAGES if s != "video"]
    assert "vocals" in result.timings_s
    for f in result.files:
        if f.duration_s is not None:
            assert f.duration_s == pytest.approx(16.0, abs=0.05)


def test_every_lyric_word_is_in_the_result_and_every_caption(
    sung: tuple[GenerationResult, list[str]],
) -> None:
    result, _ = sung
    words = [w for block in parse_lyrics(LYRICS) for line in block.lines for w in line.words]
    assert [w.text for line in result.lyrics for w in line.words] == words
    srt = parse_srt(_file(result, "lyrics.srt").read_text(encoding="utf-8"))
    assert " ".join(text for _, _, text in srt).split() == words
    lrc = parse_lrc(_file(result, "lyrics.lrc").read_text(encoding="utf-8"))
    assert [word for _, line in lrc for _, word in line] == words
    timed = parse_words_json(_file(result, "lyrics.json").read_text(encoding="utf-8"))
    assert timed == result.lyrics
    assert _file(result, "lyrics.txt").read_text(encoding="utf-8") == LYRICS
    plan = json.loads(_file(result, "plan.json").read_text(encoding="utf-8"))
    assert plan["vocals"]["voice"] == "male" and plan["vocals"]["lyrics_written"] is False
    assert [line["text"] for line in plan["vocals"]["lines"]] == [
        line.text for line in result.lyrics
    ]
    assert [n["lyric"] for n in plan["vocals"]["melody"] if n["lyric"] not in ("", "-")] == words


def test_the_midi_file_has_a_vocal_track_with_lyric_events(
    sung: tuple[GenerationResult, list[str]],
) -> None:
    result, _ = sung
    midi = mido.MidiFile(str(_file(result, "score.mid")))
    track = next(
        t for t in midi.tracks if any(m.type == "track_name" and m.name == "vocals" for m in t)
    )
    lyrics = [m.text for m in track if m.type == "lyrics"]
    words = [w.text for line in result.lyrics for w in line.words]
    assert [t for t in lyrics if t != "-"] == words
    assert sum(1 for m in track if m.type == "note_on") >= len(lyrics)


def test_the_voice_is_in_the_mix_and_out_of_the_instrumental(
    sung: tuple[GenerationResult, list[str]],
) -> None:
    result, _ = sung
    mix, sr = decode_audio(_file(result, "mix.wav"))
    instrumental, _ = decode_audio(_file(result, "instrumental.wav"))
    vocals, _ = decode_audio(_file(result, "stems/vocals.wav"))
    first, last = result.lyrics[0].start_s, result.lyrics[-1].end_s
    span = slice(round(first * sr), round(last * sr))
    voice = vocals[:, span].mean(axis=0)
    # The vocal stem correlates with the mix minus the instrumental, not with the instrumental.
    difference = (mix - instrumental)[:, span].mean(axis=0)
    assert np.corrcoef(voice, difference)[0, 1] > 0.5
    assert abs(np.corrcoef(voice, instrumental[:, span].mean(axis=0))[0, 1]) < 0.2


def test_the_lead_steps_back_while_the_voice_sings() -> None:
    sr = 44_100
    rng = np.random.default_rng(0)
    lead = rng.standard_normal((2, 4 * sr)).astype(np.float32) * 0.1
    voice = np.zeros((2, 4 * sr), dtype=np.float32)
    voice[:, sr : 2 * sr] = np.sin(np.arange(sr) * 2 * np.pi * 440 / sr) * 0.3
    stems = {"lead": lead.copy(), "vocals": voice}
    make_room_for_vocals(stems, MIX_PROFILES["pop"], sample_rate=sr)
    ratio_db = 10 * np.log10(np.mean(stems["lead"] ** 2, axis=0) / np.mean(lead**2, axis=0) + 1e-12)
    during = ratio_db[round(1.3 * sr) : round(1.7 * sr)].mean()
    after = ratio_db[round(3.2 * sr) :].mean()
    assert during < -8.0 and after > -0.5


def test_same_seed_same_sung_files(
    tmp_path: Path, sung: tuple[GenerationResult, list[str]]
) -> None:
    result, _ = sung
    again = generate(
        _request(lyrics=LYRICS, voice="male", stems=["vocals", "lead"], midi=True), tmp_path
    )
    for name in ("mix.wav", "stems/vocals.wav", "instrumental.wav", "lyrics.json"):
        ours = next(f for f in result.files if f.name == name)
        theirs = next(f for f in again.files if f.name == name)
        assert ours.sha256 == theirs.sha256, name


def test_vocals_without_lyrics_sing_what_the_writer_wrote(tmp_path: Path) -> None:
    result = generate(_request(instrumental=False, vocal_languages=["es"]), tmp_path)
    written = (tmp_path / "lyrics.txt").read_text(encoding="utf-8")
    words = [w for block in parse_lyrics(written) for line in block.lines for w in line.words]
    assert [w.text for line in result.lyrics for w in line.words] == words
    assert json.loads((tmp_path / "lyrics.json").read_text())["languages"] == ["es"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"lyrics": "夜空の光", "vocal_languages": ["ja"]}, "kana"),
        ({"lyrics": " ".join(["word"] * 400)}, "16ths"),
    ],
)
def test_unsingable_lyrics_are_an_invalid_request_and_leave_nothing(
    tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        generate(_request(**fields), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_cancel_during_the_vocals_stops_there(tmp_path: Path) -> None:
    seen: list[str] = []

    def cancel_in_vocals() -> bool:
        return bool(seen) and seen[-1] == "vocals"

    with pytest.raises(Cancelled, match="vocals"):
        generate(
            _request(lyrics=LYRICS), tmp_path, lambda e: seen.append(e.stage), cancel_in_vocals
        )
    assert list(tmp_path.iterdir()) == []


def test_an_instrumental_has_no_vocal_files(tmp_path: Path) -> None:
    result = generate(_request(duration_s=8), tmp_path)
    assert {f.kind for f in result.files} == {"mix", "plan"}
    assert result.lyrics == []
