"""Code run by a new Python interpreter, as in another worker process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def printed_by_a_fresh_interpreter(script: str) -> str:
    """What ``script`` prints, run by a fresh interpreter in the repository (so that it can
    import ``tests`` too)."""
    return subprocess.run(
        [sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True, check=True
    ).stdout.strip()
