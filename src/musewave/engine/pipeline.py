"""``generate``: the one entry point. request → plan → score → stems → mix → master → files.

Files are written into a hidden staging folder inside ``out_dir`` and moved into place only
after every one of them decoded back correctly, so a failure or a cancel leaves nothing partial.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from musewave.engine.compose import compose_score
from musewave.engine.encode import encode, media_type
from musewave.engine.errors import Cancelled
from musewave.engine.master import master
from musewave.engine.midi import write_midi
from musewave.engine.mix import mix
from musewave.engine.outputs import (
    FileTasks,
    remove_stale_outputs,
    reported_as_engine_error,
    write_error,
    write_manifest,
)
from musewave.engine.plan import Plan, make_plan
from musewave.engine.profiles import MIX_PROFILES
from musewave.engine.progress import CancelCheck, ProgressCallback, ProgressEvent, overall_progress
from musewave.engine.render import render_stems
from musewave.engine.request import MAX_SEED, GenerationRequest
from musewave.engine.validate import validate_audio_file

SAMPLE_RATE = 44_100
FILE_THREADS = min(4, os.cpu_count() or 1)
FADE_OUT_S = 2.0
MIX_MIN_RMS_DBFS = -40.0  # a mastered mix sits near −14 LUFS; far below means it broke
STEM_MIN_RMS_DBFS = -90.0
LOOP_TAIL_S = 4.0  # rendered past the loop point and folded back to the start
STAGING_PREFIX = ".musewave-"  # hidden folders in out_dir that hold files until validated
_LISTING_ORDER = ("mix", "stem", "midi", "plan")  # how GenerationResult.files is sorted


@dataclass(frozen=True, slots=True)
class OutputFile:
    name: str  # relative to out_dir, e.g. "mix.mp3", "stems/bass.wav"
    path: Path
    kind: str  # "mix" | "stem" | "midi" | "plan"
    media_type: str
    size_bytes: int
    sha256: str
    duration_s: float | None


@dataclass(slots=True)
class GenerationResult:
    plan: Plan
    files: list[OutputFile]
    integrated_lufs: float
    true_peak_dbtp: float
    timings_s: dict[str, float] = field(default_factory=dict)


class _Stages:
    """Reports progress and checks for cancellation between units of work."""

    def __init__(self, on_progress: ProgressCallback | None, should_cancel: CancelCheck | None):
        self.on_progress = on_progress
        self.should_cancel = should_cancel or (lambda: False)
        self.timings: dict[str, float] = {}
        self._stage = ""
        self._started = 0.0

    def check(self) -> None:
        if self.should_cancel():
            raise Cancelled(f"cancelled during {self._stage or 'start-up'}")

    def begin(self, stage: str, message: str) -> None:
        self.check()
        self._finish_timing()
        self._stage, self._started = stage, time.perf_counter()
        self.report(0.0, message)

    def report(self, fraction: float, message: str) -> None:
        if self.on_progress is not None:
            progress = overall_progress(self._stage, fraction)
            self.on_progress(ProgressEvent(self._stage, progress, fraction, message))

    def _finish_timing(self) -> None:
        if self._stage:
            self.timings[self._stage] = round(time.perf_counter() - self._started, 4)

    def done(self) -> None:
        self._finish_timing()
        self._stage = ""


@contextmanager
def _staging(out_dir: Path) -> Iterator[Path]:
    """A hidden folder in ``out_dir``; removed whatever happens."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out_dir))
    except OSError as error:
        raise write_error(error, "the staging folder", out_dir) from error
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def remove_stale_staging(out_dir: Path) -> None:
    """Delete staging folders a killed process left in ``out_dir`` (a finished or failed
    ``generate`` removes its own)."""
    if out_dir.is_dir():
        for path in out_dir.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(path, ignore_errors=True)


def resolve_seed(request: GenerationRequest) -> GenerationRequest:
    """A request without a seed gets a random one, recorded so the result can be reproduced."""
    if request.seed is not None:
        return request
    return request.with_seed(secrets.randbelow(MAX_SEED + 1))


def generate(
    request: GenerationRequest,
    out_dir: Path,
    on_progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    *,
    sample_rate: int = SAMPLE_RATE,
    guard_encode: Callable[[Callable[[], object]], object] | None = None,
    planner: Callable[[GenerationRequest], Plan] = make_plan,
) -> GenerationResult:
    """Render ``request`` into ``out_dir``: ``mix.<fmt>`` per format and ``plan.json``, with
    ``stems/<stem>.wav`` for the stems and ``score.mid`` when the request asks for them.

    ``guard_encode(encode_all)``, when given, runs the encoding stage (callers pass a circuit
    breaker's ``call``; the engine itself knows nothing of breakers).

    ``planner(request)`` makes the plan (default: the rule-based :func:`make_plan`). Callers
    pass an outside planner (``musewave.planning``), or a stored plan to render it again
    bit-identically; the plan's ``planner`` field says which made it.

    Raises ``Cancelled`` when ``should_cancel()`` turns true (checked between stages, parts and
    files), ``InvalidRequest`` when ``out_dir`` is not writable, ``OutputFailed`` when a file
    cannot be written (disk full, I/O error) and ``ValidationFailed`` when a written file does
    not decode back as expected. On any error nothing is left in ``out_dir``. Files the
    previous render into ``out_dir`` published and this one does not are removed (see
    ``outputs.remove_stale_outputs``).

    Files are written on threads as soon as they are final (plan and score during the render,
    stems during mastering) and each is decoded back as soon as it is written; the
    ``encoding`` and ``validating`` stages wait for them.
    """
    stages = _Stages(on_progress, should_cancel)
    request = resolve_seed(request)
    assert request.seed is not None
    out_dir = Path(out_dir)

    with _staging(out_dir) as staging, FileTasks[OutputFile](FILE_THREADS) as files:
        written: dict[str, str] = {}  # name → kind of every file queued

        def write(name: str, kind: str, task: Callable[[], object], *, early: bool) -> None:
            written[name] = kind
            files.write(name, partial(_write_reported, task, name, out_dir), early=early)

        stages.begin("planning", "reading the prompt")
        plan = planner(request)
        stages.report(1.0, f"{plan.genre}, {plan.bpm:.1f} BPM, {plan.key} ({plan.planner})")

        stages.begin("composing", "writing the parts")
        score = compose_score(plan)
        stages.report(1.0, f"{sum(len(p.notes) for p in score.parts)} notes")
        # The score and the plan are final: written on a thread while the audio renders.
        write("plan.json", "plan", partial(_write_plan, plan, staging / "plan.json"), early=True)
        if request.midi:
            write(
                "score.mid", "midi", partial(write_midi, score, staging / "score.mid"), early=True
            )

        stages.begin("rendering", "synthesizing the parts")
        n_samples = round(plan.duration_s * sample_rate)
        tail = round(LOOP_TAIL_S * sample_rate) if plan.loop else 0
        raw_stems = render_stems(
            score, sample_rate, n_samples + tail, plan.seed, stages.should_cancel
        )
        stages.check()

        stages.begin("mixing", f"mixing {len(raw_stems)} stems")
        profile = MIX_PROFILES.get(plan.mix_profile, MIX_PROFILES["default"])
        # In place: the raw stems are not needed again, and a second set costs 40 MB per
        # stem-minute plus the time to fault it in.
        mixed, premaster = mix(
            raw_stems, score, profile, sample_rate=sample_rate, n_samples=n_samples, in_place=True
        )
        # The stems are final: written on a thread while the mix is mastered.
        stems = [(name, audio) for name, audio in mixed.items() if request.wants_stem(name)]
        if stems:
            with reported_as_engine_error("stems/", out_dir):
                (staging / "stems").mkdir()
        for name, audio in stems:
            path = staging / "stems" / f"{name}.wav"
            write(
                f"stems/{name}.wav",
                "stem",
                partial(encode, audio, sample_rate, path, "wav"),
                early=True,
            )
        del mixed, stems  # the writers hold the stem buffers until they are written

        stages.begin("mastering", "compressing, limiting, normalizing loudness")
        mastered = master(
            premaster,
            profile,
            sample_rate=sample_rate,
            fade_in_s=0.0 if plan.loop else 0.01,
            fade_out_s=0.0 if plan.loop else min(FADE_OUT_S, plan.duration_s / 10),
            loop=plan.loop,
            in_place=True,
        )
        del premaster  # mastered in its buffer

        stages.begin("encoding", "writing files")
        # Lossy encoders first: MP3 takes longest, so it starts before WAV and FLAC.
        for fmt in sorted(request.formats, key=lambda fmt: fmt in ("wav", "flac")):
            path = staging / f"mix.{fmt}"
            write(
                f"mix.{fmt}",
                "mix",
                partial(encode, mastered.audio, sample_rate, path, fmt),
                early=False,
            )
        describe = partial(_describe_for, written, staging, out_dir, plan.duration_s)

        def encode_all() -> None:
            files.written(describe, partial(_report_file, stages, "wrote"))

        if guard_encode is None:
            encode_all()
        else:
            guard_encode(encode_all)
        loudness = mastered.integrated_lufs, mastered.true_peak_dbtp
        del mastered  # the writers are done with the audio

        stages.begin("validating", "decoding every file back")
        outputs = sorted(
            files.checked(partial(_report_file, stages, "checked")),
            key=lambda f: _LISTING_ORDER.index(f.kind),
        )
        stages.check()
        _publish(staging, out_dir, list(written))
        stages.done()

    return GenerationResult(
        plan=plan,
        files=outputs,
        integrated_lufs=loudness[0],
        true_peak_dbtp=loudness[1],
        timings_s=stages.timings,
    )


def _write_reported(task: Callable[[], object], name: str, out_dir: Path) -> None:
    with reported_as_engine_error(name, out_dir):
        task()


def _write_plan(plan: Plan, path: Path) -> Path:
    path.write_text(json.dumps(plan.model_dump(mode="json"), indent=2) + "\n")
    return path


def _report_file(stages: _Stages, verb: str, done: int, total: int, name: str) -> None:
    stages.report(done / total, f"{verb} {name}")
    stages.check()


def _describe_for(
    kinds: dict[str, str], staging: Path, out_dir: Path, duration_s: float, name: str
) -> Callable[[], OutputFile]:
    return partial(_describe, name, kinds[name], staging / name, duration_s, out_dir / name)


def _describe(name: str, kind: str, staged: Path, duration_s: float, final: Path) -> OutputFile:
    suffix = staged.suffix.lstrip(".")
    if kind in ("mix", "stem"):
        report = validate_audio_file(
            staged,
            expected_duration_s=duration_s,
            expected_sample_rate=None if suffix == "opus" else SAMPLE_RATE,
            # A stem may play in one section only; it must not be empty, not loud.
            min_rms_dbfs=STEM_MIN_RMS_DBFS if kind == "stem" else MIX_MIN_RMS_DBFS,
        )
        return OutputFile(
            name,
            final,
            kind,
            media_type(suffix),
            report.size_bytes,
            report.sha256,
            report.duration_s,
        )
    data = staged.read_bytes()
    kind_type = "audio/midi" if kind == "midi" else "application/json"
    return OutputFile(
        name, final, kind, kind_type, len(data), hashlib.sha256(data).hexdigest(), None
    )


def _publish(staging: Path, out_dir: Path, names: list[str]) -> None:
    """Move the validated files into place (same filesystem, so each move is atomic), remove
    what the previous render here published and this one did not, and record what is new."""
    with reported_as_engine_error("the validated files", out_dir):
        for name in names:
            target = out_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / name, target)
        remove_stale_outputs(out_dir, keep=set(names))
        write_manifest(out_dir, names)
