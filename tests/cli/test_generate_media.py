"""``musewave generate --video … --cover`` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from musewave.engine.video import validate_video_file
from tests.cli.support import musewave


def test_help_documents_video_and_cover() -> None:
    result = musewave("generate", "--help")
    assert result.returncode == 0
    for words in ("--video", "--cover", "lyric", "spectrum", "waveform"):
        assert words in result.stdout


def test_an_unknown_style_exits_2_with_one_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = musewave("generate", "x", "--video", "lyric,slideshow", "-o", str(out))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "unknown video styles ['slideshow']" in lines[0]
    assert not out.exists()


def test_generate_writes_the_video_and_the_cover(tmp_path: Path) -> None:
    # A 10 s track (the CLI's shortest): the dearest part is the video's 300 frames.
    out = tmp_path / "out"
    result = musewave(
        "generate", "calm ambient piano", "-d", "10", "--seed", "3", "--format", "mp3",
        "--video", "waveform", "--cover", "--json", "-o", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "video" in result.stderr  # the stage shows in the progress lines
    summary = json.loads(result.stdout)
    names = {f["name"] for f in summary["files"]}
    assert {"video-waveform.mp4", "cover.jpg", "cover-600.jpg", "mix.mp3"} <= names
    report = validate_video_file(
        out / "video-waveform.mp4",
        expected_duration_s=summary["duration_s"],
        width=1280,
        height=720,
        fps=30,
    )
    assert report.n_frames == round(summary["duration_s"] * 30)
    with Image.open(out / "cover.jpg") as cover:
        assert cover.size == (3000, 3000)
    assert "video" in summary["timings_s"]
