"""scripts/install-soundfont's decisions, without installing anything: the font check is a
stand-in Python that answers with an exit status, and apt-get is kept off the PATH."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install-soundfont"


def _run(tmp_path: Path, font_check_status: int) -> subprocess.CompletedProcess[str]:
    python = tmp_path / "python"
    python.write_text(f"#!/bin/sh\nexit {font_check_status}\n")
    python.chmod(0o755)
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), str(python)],
        capture_output=True,
        text=True,
        env={"PATH": str(tmp_path)},  # no apt-get, no sudo
        timeout=30,
    )


def test_a_system_font_already_there_needs_nothing(tmp_path: Path) -> None:
    done = _run(tmp_path, 0)
    assert (done.returncode, done.stderr) == (0, "")


def test_without_apt_get_it_says_the_small_font_is_used_and_succeeds(tmp_path: Path) -> None:
    done = _run(tmp_path, 3)
    assert done.returncode == 0
    assert "no apt-get" in done.stderr and "TimGM6mb" in done.stderr
    assert "apt install fluid-soundfont-gm" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("status", [1, 2])
def test_a_font_check_that_fails_is_an_error_not_a_missing_font(
    tmp_path: Path, status: int
) -> None:
    done = _run(tmp_path, status)
    assert done.returncode == 1
    assert "could not ask" in done.stderr
