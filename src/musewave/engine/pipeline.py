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
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from musewave.engine.compose import compose_score
from musewave.engine.cover import (
    COVER_NAME,
    COVER_PX,
    THUMBNAIL_NAME,
    THUMBNAIL_PX,
    validate_image_file,
    write_cover,
)
from musewave.engine.encode import encode, media_type
from musewave.engine.errors import Cancelled, InvalidRequest
from musewave.engine.master import master
from musewave.engine.midi import write_midi
from musewave.engine.mix import mix
from musewave.engine.plan import Plan, make_plan
from musewave.engine.profiles import MIX_PROFILES
from musewave.engine.progress import CancelCheck, ProgressCallback, ProgressEvent, overall_progress
from musewave.engine.render import render_stems
from musewave.engine.request import MAX_SEED, GenerationRequest
from musewave.engine.timed_lyrics import TimedLine
from musewave.engine.validate import validate_audio_file
from musewave.engine.video import (
    FPS,
    HEIGHT,
    WIDTH,
    render_video,
    validate_video_file,
    video_name,
)

SAMPLE_RATE = 44_100
FILE_THREADS = min(4, os.cpu_count() or 1)
T = TypeVar("T")
FADE_OUT_S = 2.0
MIX_MIN_RMS_DBFS = -40.0  # a mastered mix sits near −14 LUFS; far below means it broke
STEM_MIN_RMS_DBFS = -90.0
LOOP_TAIL_S = 4.0  # rendered past the loop point and folded back to the start
STAGING_PREFIX = ".musewave-"  # hidden folders in out_dir that hold files until validated
VIDEO_REPORT_STEP = 0.05  # video progress is reported in steps of this share of a video
_MEDIA_TYPES = {
    "midi": "audio/midi",
    "plan": "application/json",
    "video": "video/mp4",
    "cover": "image/jpeg",
    "thumbnail": "image/jpeg",
}


@dataclass(frozen=True, slots=True)
class OutputFile:
    name: str  # relative to out_dir, e.g. "mix.mp3", "stems/bass.wav"
    path: Path
    kind: str  # "mix" | "stem" | "midi" | "plan" | "video" | "cover" | "thumbnail"
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
        raise InvalidRequest(f"cannot write to {out_dir}: {error.strerror or error}") from error
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
) -> GenerationResult:
    """Render ``request`` into ``out_dir``: ``mix.<fmt>`` per format and ``plan.json``, with
    ``stems/<stem>.wav`` for the stems and ``score.mid`` when the request asks for them.

    With ``generate_video``, ``video-<style>.mp4`` per style; with ``cover_art``, ``cover.jpg``
    (3000×3000) and ``cover-600.jpg``.

    ``guard_encode(encode_all)``, when given, runs the encoding stage and each video's render
    (callers pass a circuit breaker's ``call``; the engine itself knows nothing of breakers).

    Raises ``Cancelled`` when ``should_cancel()`` turns true (checked between stages, parts,
    files and each second of video), ``InvalidRequest`` when ``out_dir`` is not writable, and
    ``ValidationFailed`` when a written file does not decode back as expected. On any error
    nothing is left in ``out_dir``.
    """
    stages = _Stages(on_progress, should_cancel)
    request = resolve_seed(request)
    assert request.seed is not None
    out_dir = Path(out_dir)

    with _staging(out_dir) as staging:
        stages.begin("planning", "reading the prompt")
        plan = make_plan(request)
        stages.report(1.0, f"{plan.genre}, {plan.bpm:.1f} BPM, {plan.key}")

        stages.begin("composing", "writing the parts")
        score = compose_score(plan)
        stages.report(1.0, f"{sum(len(p.notes) for p in score.parts)} notes")

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

        stages.begin("mastering", "compressing, limiting, normalizing loudness")
        mastered = master(
            premaster,
            profile,
            sample_rate=sample_rate,
            fade_in_s=0.0 if plan.loop else 0.01,
            fade_out_s=0.0 if plan.loop else min(FADE_OUT_S, plan.duration_s / 10),
            loop=plan.loop,
        )

        written: list[tuple[str, str, Path]] = []  # (name, kind, staged path)
        if request.generate_video:
            stages.begin("video", f"drawing {', '.join(request.video_styles)}")
            # The vocals stage, when it sings, hands its timed lines to the lyric video; an
            # instrumental's lyric video shows the sections instead.
            sung_lines: list[TimedLine] = []
            written += _render_videos(
                request.video_styles,
                plan,
                mastered.audio,
                sample_rate,
                staging,
                stages,
                sung_lines,
                guard_encode,
            )

        stages.begin("encoding", "writing files")
        jobs: list[tuple[str, str, NDArray[np.float32], str]] = [
            (f"mix.{fmt}", "mix", mastered.audio, fmt) for fmt in request.formats
        ]
        stems = [(name, audio) for name, audio in mixed.items() if request.wants_stem(name)]
        if stems:
            (staging / "stems").mkdir()
            jobs += [(f"stems/{name}.wav", "stem", audio, "wav") for name, audio in stems]
        written += [(name, kind, staging / name) for name, kind, _, _ in jobs]
        encode_all = partial(
            _in_parallel,
            [
                partial(encode, audio, sample_rate, staging / name, fmt)
                for name, _, audio, fmt in jobs
            ],
            stages,
            [f"wrote {name}" for name, _, _, _ in jobs],
        )
        if guard_encode is None:
            encode_all()
        else:
            guard_encode(encode_all)
        del jobs, mixed, stems, encode_all  # the partials hold the audio buffers
        if request.midi:
            written.append(("score.mid", "midi", write_midi(score, staging / "score.mid")))
        if request.cover_art:
            cover = write_cover(plan, staging)
            written += [
                (COVER_NAME, "cover", cover.cover),
                (THUMBNAIL_NAME, "thumbnail", cover.thumbnail),
            ]
            stages.report(1.0, "drew the cover")
        plan_path = staging / "plan.json"
        plan_path.write_text(json.dumps(plan.model_dump(mode="json"), indent=2) + "\n")
        written.append(("plan.json", "plan", plan_path))

        stages.begin("validating", "decoding every file back")
        files = _in_parallel(
            [
                partial(_describe, name, kind, path, plan.duration_s, out_dir / name)
                for name, kind, path in written
            ],
            stages,
            [f"checked {name}" for name, _, _ in written],
        )
        stages.check()
        _publish(staging, out_dir, [name for name, _, _ in written])
        stages.done()

    return GenerationResult(
        plan=plan,
        files=files,
        integrated_lufs=mastered.integrated_lufs,
        true_peak_dbtp=mastered.true_peak_dbtp,
        timings_s=stages.timings,
    )


def _render_videos(
    styles: list[str],
    plan: Plan,
    audio: NDArray[np.float32],
    sample_rate: int,
    staging: Path,
    stages: _Stages,
    lines: list[TimedLine],
    guard_encode: Callable[[Callable[[], object]], object] | None,
) -> list[tuple[str, str, Path]]:
    """Render one video per style into ``staging``, one after another (each already keeps a
    core busy), reporting progress in steps and checking for cancellation every second of
    video. Returns (name, kind, staged path) per video."""
    written: list[tuple[str, str, Path]] = []
    for index, style in enumerate(styles):
        name = video_name(style)
        last_step = -1

        def report(fraction: float, index: int = index, style: str = style) -> None:
            nonlocal last_step
            step = int(fraction / VIDEO_REPORT_STEP)
            if step != last_step:
                last_step = step
                stages.report((index + fraction) / len(styles), f"drawing the {style} video")

        render = partial(
            render_video,
            style,
            plan,
            audio,
            sample_rate,
            staging / name,
            lines=lines,
            should_cancel=stages.should_cancel,
            on_progress=report,
        )
        if guard_encode is None:
            render()
        else:
            guard_encode(render)
        written.append((name, "video", staging / name))
    return written


def _in_parallel(tasks: list[Callable[[], T]], stages: _Stages, messages: list[str]) -> list[T]:
    """Run file tasks on a few threads (the codecs release the GIL), reporting each as it
    finishes and checking for cancellation in between. Results keep the tasks' order."""
    results: list[T | None] = [None] * len(tasks)
    with ThreadPoolExecutor(max_workers=FILE_THREADS) as pool:
        futures = {pool.submit(task): index for index, task in enumerate(tasks)}
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                results[futures[future]] = future.result()
                stages.report(done / len(tasks), messages[futures[future]])
                stages.check()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return [r for r in results if r is not None]


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
    if kind == "video":
        video = validate_video_file(
            staged,
            expected_duration_s=duration_s,
            width=WIDTH,
            height=HEIGHT,
            fps=FPS,
            sample_rate=SAMPLE_RATE,
        )
        return OutputFile(
            name,
            final,
            kind,
            _MEDIA_TYPES[kind],
            video.size_bytes,
            video.sha256,
            video.video_duration_s,
        )
    if kind in ("cover", "thumbnail"):
        validate_image_file(staged, size_px=COVER_PX if kind == "cover" else THUMBNAIL_PX)
    data = staged.read_bytes()
    return OutputFile(
        name, final, kind, _MEDIA_TYPES[kind], len(data), hashlib.sha256(data).hexdigest(), None
    )


def _publish(staging: Path, out_dir: Path, names: list[str]) -> None:
    """Move the validated files into place (same filesystem, so each move is atomic)."""
    for name in names:
        target = out_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / name, target)
