"""The ``musewave`` command as a user runs it: a real process, real exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.support import musewave


def test_help_lists_the_commands() -> None:
    result = musewave("--help")
    assert result.returncode == 0
    assert "generate" in result.stdout


def test_generate_help_documents_the_options() -> None:
    result = musewave("generate", "--help")
    assert result.returncode == 0
    for option in ("--genre", "--duration", "--seed", "--format", "--stems", "--midi", "--out"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["", "-d", "30"], "prompt"),
        (["x", "--duration", "5"], "duration must be between 10 and 300 seconds"),
        (["x", "--format", "mp3,aiff"], "unknown format 'aiff'"),
        (["x", "--genre", "polka"], "unknown genre 'polka'"),
        (["x", "--bpm", "300"], "bpm"),
        (["x", "--key", "Q major"], "key"),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out"
    result = musewave("generate", *args, "-o", str(out))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert not out.exists()


def test_unwritable_output_folder_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = musewave("generate", "x", "-d", "10", "--seed", "1", "-o", str(blocker / "out"))
    assert result.returncode != 0
    assert "cannot write to" in result.stderr
    assert blocker.read_text() == "not a folder"


def test_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("keep me")
    result = musewave("generate", "x", "-d", "10", "-o", str(blocker))
    assert result.returncode == 2
    assert "not a folder" in result.stderr
    assert blocker.read_text() == "keep me"


def test_generate_writes_files_and_reports_progress(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = musewave(
        "generate", "dreamy synthwave at night, 100 bpm", "--genre", "synthwave",
        "--duration", "12", "--seed", "7", "--format", "mp3,wav", "--stems", "--midi",
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for stage in ("planning", "rendering", "mastering", "encoding", "validating"):
        assert stage in result.stderr
    assert "100.0 BPM" in result.stdout
    assert "LUFS" in result.stdout and "dBTP" in result.stdout
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert {"mix.mp3", "mix.wav", "score.mid", "plan.json", "stems/drums.wav"} <= set(written)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_missing_seed_is_chosen_and_printed(tmp_path: Path) -> None:
    result = musewave("generate", "calm ambient", "-d", "10", "-f", "wav", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "seed:" in result.stderr and "--seed" in result.stderr


def test_generate_sings_a_lyrics_file_and_writes_captions(tmp_path: Path) -> None:
    lyrics = tmp_path / "song.txt"
    lyrics.write_text("[Chorus]\nCanta conmigo esta noche\n", encoding="utf-8")
    out = tmp_path / "out"
    result = musewave(
        "generate", "bright pop", "-g", "pop", "-d", "12", "--seed", "3", "-f", "wav",
        "--lyrics-file", str(lyrics), "--vocal-language", "es", "--voice", "soft",
        "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "vocals" in result.stderr
    written = {p.name for p in out.iterdir()}
    assert {"instrumental.wav", "lyrics.srt", "lyrics.lrc", "lyrics.json"} <= written
    assert "Canta conmigo esta noche" in (out / "lyrics.srt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--voice", "robot"], "unknown voice"),
        (["--vocal-language", "xx"], "unknown vocal language"),
        (["--lyrics-file", "/nonexistent/lyrics.txt"], "cannot read lyrics file"),
    ],
)
def test_bad_vocal_options_exit_2_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = musewave("generate", "x", *args, "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
