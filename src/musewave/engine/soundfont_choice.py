"""Which General-MIDI SoundFont this process plays, found without loading it (standard
library only: the request model's fingerprint names the font, and reading a request must not
load the DSP stack).

``MUSEWAVE_SOUNDFONT`` (a path; ``none`` turns samples off), else the first of
:data:`SYSTEM_SOUNDFONTS` that exists (Debian's ``fluid-soundfont-gm``, installed in the
Docker image), else the small GM font that the ``pretty_midi`` wheel ships.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

SYSTEM_SOUNDFONTS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/MuseScore_General.sf2"),
)
"""Larger MIT-licensed GM fonts from Debian packages, preferred when installed."""

ENV_VAR = "MUSEWAVE_SOUNDFONT"


def soundfont_path() -> Path | None:
    """The SoundFont this process plays (see the module docstring), or ``None`` for none."""
    chosen = os.environ.get(ENV_VAR, "").strip()
    if chosen:
        return None if chosen.lower() == "none" else Path(chosen)
    for candidate in SYSTEM_SOUNDFONTS:
        if candidate.is_file():
            return candidate
    spec = importlib.util.find_spec("pretty_midi")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        bundled = Path(folder) / "TimGM6mb.sf2"
        if bundled.is_file():
            return bundled
    return None


@lru_cache(maxsize=1)
def soundfont_identity() -> str:
    """Which font this process plays, for fingerprints: ``<file name>:<bytes>`` or ``none``
    (renders with another font sound different, so they must not share cached results).
    API processes and workers must resolve the same font (one image does)."""
    path = soundfont_path()
    try:
        return "none" if path is None else f"{path.name}:{path.stat().st_size}"
    except OSError:
        return "none"  # unreadable: the renderer falls back to synthesis
