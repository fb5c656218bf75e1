"""Running ``musewave`` as a user does: a real process with real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def musewave(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m musewave.cli ARGS`` with ``env`` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "musewave.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
