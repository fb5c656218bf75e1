"""The ``musewave`` command as a user runs it: a real process, real exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.support import musewave


def one_line(stderr: str) -> str:
    """The only non-blank line of ``stderr`` (fails when there are more: a traceback)."""
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("[")]
    assert len(lines) == 1, stderr
    return lines[0]


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


def test_unwritable_output_folder_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = musewave("generate", "x", "-d", "10", "--seed", "1", "-o", str(blocker / "out"))
    assert result.returncode == 2  # the README: bad input exits 2
    assert one_line(result.stderr).startswith("error: cannot write to")
    assert blocker.read_text() == "not a folder"


def test_output_folder_that_cannot_be_created_is_bad_input() -> None:
    # procfs refuses new folders to everyone, root included.
    result = musewave("generate", "x", "-d", "10", "--seed", "1", "-o", "/proc/musewave/out")
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        "error: cannot write to /proc/musewave/out: No such file or directory; choose another --out"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_read_only_output_folder_is_bad_input(tmp_path: Path) -> None:
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o500)
    try:
        result = musewave("generate", "x", "-d", "10", "--seed", "1", "-o", str(out))
    finally:
        out.chmod(0o700)
    assert result.returncode == 2
    assert "cannot write to" in one_line(result.stderr)
    assert list(out.iterdir()) == []


# A disk that fills up under the encoder: soundfile reports ENOSPC as the OS does.
_DISK_FULL = """
import errno, os, sys, soundfile
def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
soundfile.SoundFile.write = full  # every WAV block write
from musewave.cli import app
app(sys.argv[1:], prog_name="musewave")
"""


def test_disk_full_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-c", _DISK_FULL, "generate", "x", "-d", "10", "--seed", "1",
         "-f", "wav", "-o", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 1
    assert "no space left on the device" in one_line(result.stderr)
    assert list(out.iterdir()) == []


def _unshare_tmpfs_works() -> bool:
    probe = "mount -t tmpfs -o size=1m tmpfs /mnt"
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    done = subprocess.run([unshare, "-rm", "sh", "-c", probe], capture_output=True)
    return done.returncode == 0


@pytest.mark.skipif(not _unshare_tmpfs_works(), reason="needs unprivileged mount namespaces")
def test_a_really_full_disk_is_one_line(tmp_path: Path) -> None:
    # A 400 KB tmpfs in a private mount namespace: the stems do not fit.
    mount = tmp_path / "small"
    mount.mkdir()
    command = (
        f"mount -t tmpfs -o size=400k tmpfs {mount} && "
        f"{sys.executable} -m musewave.cli generate x -d 10 --seed 1 --stems "
        f"-o {mount}/out; code=$?; ls -A {mount}/out; exit $code"
    )
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1, result.stderr
    assert "no space left on the device" in one_line(result.stderr)
    assert result.stdout.strip() == ""  # nothing left in the output folder


def test_rerender_removes_only_the_previous_renders_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = musewave(
        "generate", "x", "-d", "10", "--seed", "1", "-f", "mp3,wav", "--stems", "--midi",
        "-o", str(out),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    (out / "notes.txt").write_text("mine")  # a user's file
    (out / "stems" / "bass.wav").write_bytes(b"edited by the user")  # no longer ours
    second = musewave("generate", "x", "-d", "10", "--seed", "2", "-f", "wav", "-o", str(out))
    assert second.returncode == 0, second.stderr
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert left == [".musewave.json", "mix.wav", "notes.txt", "plan.json", "stems/bass.wav"]


def test_three_four_summary_counts_whole_bars_and_ends_with_the_track(tmp_path: Path) -> None:
    # 61 s at a fixed 90 BPM is 91.5 beats: the last bar is partial.
    args = ["generate", "a waltz", "-d", "61", "--bpm", "90", "--time-signature", "3/4",
            "--seed", "1", "-f", "wav", "-o", str(tmp_path)]  # fmt: skip
    summary = json.loads(musewave(*args, "--json").stdout)
    assert summary["sections"][-1]["end_s"] == summary["duration_s"] == 61.0
    assert all(s["end_s"] <= summary["duration_s"] for s in summary["sections"])
    table = musewave(*args).stdout
    bars = re.findall(r"│\s*[\d.]+ s\s*│\s*[\d.]+ s\s*│\s*([^│]+?)\s*│", table)
    assert bars and all(re.fullmatch(r"\d+( \+ [12] beats?)?", cell) for cell in bars), table
    assert any("+" in cell for cell in bars)


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
    hidden = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert hidden == [".musewave.json"]  # the manifest; no staging folder is left


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
