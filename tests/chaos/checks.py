"""What "completed exactly once, with valid files" means for one job, as a list of problems
(empty when the job is fine), so a test can report every bad job at once."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from musewave.engine.pipeline import STAGING_PREFIX

DURATION_TOLERANCE_S = 0.05
MIN_RMS = 1e-3  # a mastered track sits near -14 LUFS; silence is far below this


def job_problems(job: dict[str, Any], storage_dir: Path, duration_s: float) -> list[str]:
    """Problems with ``job`` (its ``GET /v1/jobs/{id}`` view) and the files under
    ``storage_dir``: not completed, odd attempts, assets missing, listed twice, or not the
    bytes registered, or a ``mix.wav`` that does not decode to ``duration_s`` of sound."""
    problems: list[str] = []
    if job["state"] != "completed":
        problems.append(f"state {job['state']} (error {job['error']!r})")
    if not 1 <= job["attempts"] <= job["max_attempts"]:
        problems.append(f"attempts {job['attempts']} of {job['max_attempts']}")
    names = [asset["name"] for asset in job["assets"]]
    if len(set(names)) != len(names):
        problems.append(f"assets listed more than once: {sorted(names)}")
    if "mix.wav" not in names:
        problems.append(f"no mix.wav among {sorted(names)}")
    job_dir = storage_dir / job["id"]
    for asset in job["assets"]:
        path = job_dir / asset["name"]
        if not path.is_file():
            problems.append(f"{asset['name']}: no file")
            continue
        data = path.read_bytes()
        if len(data) != asset["size_bytes"] or hashlib.sha256(data).hexdigest() != asset["sha256"]:
            problems.append(f"{asset['name']}: the file is not the one registered")
    leftovers = (
        sorted(p.name for p in job_dir.glob(f"{STAGING_PREFIX}*")) if job_dir.is_dir() else []
    )
    if leftovers:
        problems.append(f"staging leftovers {leftovers}")
    if "mix.wav" in names and (job_dir / "mix.wav").is_file():
        problems.extend(_audio_problems(job_dir / "mix.wav", duration_s))
    return problems


def _audio_problems(path: Path, duration_s: float) -> list[str]:
    audio, sample_rate = soundfile.read(path, dtype="float32", always_2d=True)
    decoded_s = audio.shape[0] / sample_rate
    problems = []
    if abs(decoded_s - duration_s) > DURATION_TOLERANCE_S:
        problems.append(f"mix.wav lasts {decoded_s:.3f} s, not {duration_s} s")
    if not np.isfinite(audio).all():
        problems.append("mix.wav has non-finite samples")
    elif float(np.sqrt(np.mean(np.square(audio)))) < MIN_RMS:
        problems.append("mix.wav is silent")
    return problems
