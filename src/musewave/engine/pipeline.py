"""``generate``: the one entry point. request → plan → score → stems (→ vocals) → mix → master
(→ videos) → files.

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from musewave.engine.compose import compose_score
from musewave.engine.encode import encode, media_type
from musewave.engine.errors import Cancelled, EngineError, InvalidRequest
from musewave.engine.master import master
from musewave.engine.mix import (
    SpilledStem,
    SpillFailed,
    StemMixer,
    finish_mix,
    finish_spilled,
    kick_onsets,
    mix,
)
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
from musewave.engine.render import render_stems, stem_names
from musewave.engine.request import MAX_SEED, GenerationRequest
from musewave.engine.score import Note, Part, Score
from musewave.engine.timed_lyrics import TimedLine
from musewave.engine.validate import validate_audio_file, validate_captions

if TYPE_CHECKING:
    from musewave.engine.cover import CoverFiles
    from musewave.engine.vocals.track import VocalTrack

# The video, cover and singing stacks (scipy.signal's helpers, PIL, WORLD, espeak) load only
# for a request that asks for them: an instrumental render from the shell skips their imports
# (the trap, boom-bap and reggaeton kits' ad-libs are spoken in a child process).

SAMPLE_RATE = 44_100
FILE_THREADS = min(4, os.cpu_count() or 1)
FADE_OUT_S = 2.0
MIX_MIN_RMS_DBFS = -40.0  # a mastered mix sits near −14 LUFS; far below means it broke
STEM_MIN_RMS_DBFS = -90.0
LOOP_TAIL_S = 4.0  # rendered past the loop point and folded back to the start
STAGING_PREFIX = ".musewave-"  # hidden folders in out_dir that hold files until validated
# How GenerationResult.files is sorted.
_LISTING_ORDER = (
    "mix",
    "instrumental",
    "stem",
    "video",
    "cover",
    "thumbnail",
    "midi",
    "plan",
    "captions",
    "lyrics",
)
# The voice's level (RMS while singing) against the instrumental's (RMS), before the mix.
VOCAL_LEVEL_DB = 0.0
VOCAL_MIDI_PROGRAM = 53  # General MIDI "Voice Oohs"
CAPTION_FILES = (  # name, media type
    ("lyrics.srt", "application/x-subrip"),
    ("lyrics.lrc", "text/plain"),
    ("lyrics.json", "application/json"),
)
VIDEO_REPORT_STEP = 0.05  # video progress is reported in steps of this share of a video
_MEDIA_TYPES = {
    "midi": "audio/midi",
    "plan": "application/json",
    "lyrics": "text/plain",
    "video": "video/mp4",
    "cover": "image/jpeg",
    "thumbnail": "image/jpeg",
}


@dataclass(frozen=True, slots=True)
class OutputFile:
    name: str  # relative to out_dir, e.g. "mix.mp3", "stems/bass.wav"
    path: Path
    # "mix" | "instrumental" | "stem" | "video" | "cover" | "thumbnail" | "midi" | "plan" |
    # "captions" | "lyrics"
    kind: str
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
    # The sung lines with word times (empty for an instrumental): captions and video read them.
    lyrics: list[TimedLine] = field(default_factory=list)


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

    A sung request (``instrumental`` false) adds ``instrumental.wav``, the captions
    ``lyrics.srt``, ``lyrics.lrc`` and ``lyrics.json``, and ``lyrics.txt``. With
    ``generate_video``, ``video-<style>.mp4`` per style; with ``cover_art``, ``cover.jpg``
    (3000×3000) and ``cover-600.jpg``.

    ``guard_encode(encode_all)``, when given, runs the encoding stage and each video's render
    (callers pass a circuit breaker's ``call``; the engine itself knows nothing of breakers).

    ``planner(request)`` makes the plan (default: the rule-based :func:`make_plan`). Callers
    pass an outside planner (``musewave.planning``), or a stored plan to render it again
    bit-identically; the plan's ``planner`` field says which made it.

    Raises ``Cancelled`` when ``should_cancel()`` turns true (checked between stages, parts,
    files and each second of video), ``InvalidRequest`` when ``out_dir`` is not writable,
    ``OutputFailed`` when a file cannot be written (disk full, I/O error) and
    ``ValidationFailed`` when a written file does not decode back as expected. On any error
    nothing is left in ``out_dir``. Files the previous render into ``out_dir`` published and
    this one does not are removed (see ``outputs.remove_stale_outputs``).

    Files are written on threads as soon as they are final (plan and score during the render,
    or after the vocals for a sung track; stems during mastering, or beside the mix's encoders
    when they were parked in files; the mix during the videos)
    and each is decoded back as soon as it is written; the ``encoding`` and ``validating``
    stages wait for them.
    """
    stages = _Stages(on_progress, should_cancel)
    request = resolve_seed(request)
    assert request.seed is not None
    out_dir = Path(out_dir)

    with (
        _staging(out_dir) as staging,
        FileTasks[OutputFile](FILE_THREADS) as files,
        ExitStack() as cleanup,
    ):
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

        def write_score_and_plan(vocals: VocalTrack | None) -> None:
            # Final once the vocal melody is: written on a thread while the audio renders.
            path = staging / "plan.json"
            write(
                "plan.json", "plan", partial(_write_plan, plan, vocals, request, path), early=True
            )
            if request.midi:
                write("score.mid", "midi", partial(_write_midi, score, vocals, staging), early=True)

        if request.instrumental:
            write_score_and_plan(None)

        stages.begin("rendering", "synthesizing the parts")
        n_samples = round(plan.duration_s * sample_rate)
        tail = round(LOOP_TAIL_S * sample_rate) if plan.loop else 0
        profile = MIX_PROFILES.get(plan.mix_profile, MIX_PROFILES["default"])
        # An instrumental's stems are mixed on a thread as each is rendered (a voice, when
        # there is one, must be sung over all of them before any is mixed). In place: the
        # raw stems are not needed again, and a second set costs 40 MB per stem-minute plus
        # the time to fault it in.
        mixer = None
        # A track-length instrumental parks each mixed stem in a file until the headroom gain
        # is known, so its stems are never all in memory (a 120 s stem is 42 MB).
        spill_dir = None
        if request.instrumental and not tail:
            spill_dir = staging / ".mixed"
            with reported_as_engine_error("the mixed stems", out_dir):
                spill_dir.mkdir()
        if request.instrumental:
            mixer = cleanup.enter_context(
                StemMixer(
                    stem_names(score),
                    profile,
                    sample_rate=sample_rate,
                    bpm=score.bpm,
                    kick_onsets=kick_onsets(score, sample_rate=sample_rate),
                    n_samples=n_samples + tail,
                    in_place=True,
                    spill_dir=spill_dir,
                )
            )
        with _spill_errors(out_dir):  # a stem parked on a full disk fails like any file
            raw_stems = render_stems(
                score,
                sample_rate,
                n_samples + tail,
                plan.seed,
                stages.should_cancel,
                on_stem=None if mixer is None else mixer.add,
                release=True,
            )
        stages.check()

        vocals: VocalTrack | None = None
        if not request.instrumental:
            stages.begin("vocals", "singing the lyrics")
            vocals = _sing(request, plan, raw_stems, sample_rate, n_samples + tail, stages)
            raw_stems["vocals"] = vocals.audio
            stages.report(1.0, f"sang {sum(len(line.words) for line in vocals.lines)} words")
            write_score_and_plan(vocals)
            for name, kind, task in _caption_writers(vocals, request, plan, staging):
                write(name, kind, task, early=True)

        stages.begin("mixing", f"mixing {len(stem_names(score)) + (vocals is not None)} stems")
        stem_audio: dict[str, NDArray[np.float32] | SpilledStem]
        instrumental = None
        if mixer is None:
            mixed, premaster = mix(
                raw_stems,
                score,
                profile,
                sample_rate=sample_rate,
                n_samples=n_samples,
                in_place=True,
            )
            # For karaoke: the mix without the voice (mastered after the mix, on its own).
            instrumental = premaster - mixed["vocals"] if vocals is not None else None
            stem_audio = dict(mixed)
            del mixed
        else:
            with _spill_errors(out_dir):
                processed = mixer.result()
            mixer.close()
            raw_stems.clear()  # so a folded loop frees the rendered buffers
            if spill_dir is None:
                mixed, premaster = finish_mix(processed, n_samples=n_samples)
                stem_audio = dict(mixed)
                del mixed
            else:
                parked, premaster = finish_spilled(processed, n_samples=n_samples)
                for name, stem in parked.items():
                    if not request.wants_stem(name):
                        stem.discard()
                stem_audio = dict(parked)
            del processed
        # The stems are final: written on a thread while the mix is mastered.
        stems = [(name, audio) for name, audio in stem_audio.items() if request.wants_stem(name)]
        if stems:
            with reported_as_engine_error("stems/", out_dir):
                (staging / "stems").mkdir()
        # Stems in memory are written on a thread while the mix is mastered, freeing their
        # buffers. Stems parked in files hold no memory: they wait for the mix files, so the
        # master has both cores and they are written beside the MP3 encoder, which is slower
        # than all of them together.
        parked_writers: list[tuple[str, Callable[[], object]]] = []
        for name, audio in stems:
            path = staging / "stems" / f"{name}.wav"
            writer = partial(_write_stem, audio, sample_rate, path)
            if isinstance(audio, SpilledStem):
                parked_writers.append((f"stems/{name}.wav", writer))
            else:
                write(f"stems/{name}.wav", "stem", writer, early=True)
        del stem_audio, stems  # the writers hold the stem buffers until they are written

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
        if instrumental is not None:
            # For karaoke: the same mix without the voice, mastered on its own.
            stages.report(0.5, "mastering the instrumental")
            instrumental_audio = master(
                instrumental,
                profile,
                sample_rate=sample_rate,
                fade_in_s=0.0 if plan.loop else 0.01,
                fade_out_s=0.0 if plan.loop else min(FADE_OUT_S, plan.duration_s / 10),
                loop=plan.loop,
                in_place=True,
            ).audio
            write(
                "instrumental.wav",
                "instrumental",
                partial(
                    encode, instrumental_audio, sample_rate, staging / "instrumental.wav", "wav"
                ),
                early=False,
            )
            del instrumental, instrumental_audio  # the writer holds it until it is written

        # The mix is final: its files are encoded on threads while videos and the cover are
        # drawn. Lossy encoders first: MP3 takes longest, so it starts before WAV and FLAC.
        for fmt in sorted(request.formats, key=lambda fmt: fmt in ("wav", "flac")):
            path = staging / f"mix.{fmt}"
            write(
                f"mix.{fmt}",
                "mix",
                partial(encode, mastered.audio, sample_rate, path, fmt),
                early=False,
            )
        for stem_name, stem_writer in parked_writers:
            write(stem_name, "stem", stem_writer, early=False)
        if request.generate_video:
            stages.begin("video", f"drawing {', '.join(request.video_styles)}")
            # A sung track's lyric video shows its timed lines; an instrumental's, the sections.
            for name, kind, _ in _render_videos(
                request.video_styles,
                plan,
                mastered.audio,
                sample_rate,
                staging,
                stages,
                vocals.lines if vocals is not None else [],
                guard_encode,
            ):
                write(name, kind, _already_written, early=True)

        stages.begin("encoding", "writing files")
        if request.cover_art:
            from musewave.engine.cover import COVER_NAME, THUMBNAIL_NAME

            with reported_as_engine_error(COVER_NAME, out_dir):
                write_cover(plan, staging)
            write(COVER_NAME, "cover", _already_written, early=True)
            write(THUMBNAIL_NAME, "thumbnail", _already_written, early=True)
            stages.report(0.0, "drew the cover")
        lines = vocals.lines if vocals is not None else []
        describe = partial(
            _describe_for, written, staging, out_dir, plan.duration_s, sample_rate, lines
        )

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
        lyrics=vocals.lines if vocals is not None else [],
    )


def render_video(
    style: str,
    plan: Plan,
    audio: NDArray[np.float32],
    sample_rate: int,
    path: Path,
    *,
    lines: Sequence[TimedLine] = (),
    should_cancel: CancelCheck | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Path:
    """:func:`musewave.engine.video.render_video`, imported on first use (PyAV and Pillow
    cost a render that draws no video their import time)."""
    from musewave.engine.video import render_video as render

    return render(
        style,
        plan,
        audio,
        sample_rate,
        path,
        lines=lines,
        should_cancel=should_cancel,
        on_progress=on_progress,
    )


def write_cover(plan: Plan, folder: Path) -> CoverFiles:
    """:func:`musewave.engine.cover.write_cover`, imported on first use."""
    from musewave.engine.cover import write_cover as write

    return write(plan, folder)


@contextmanager
def _spill_errors(out_dir: Path) -> Iterator[None]:
    try:
        yield
    except SpillFailed as error:
        raise write_error(error, "the mixed stems", out_dir) from error


def _write_stem(audio: NDArray[np.float32] | SpilledStem, sample_rate: int, path: Path) -> None:
    """A stem's WAV; a parked stem's file goes as soon as it is written."""
    encode(audio, sample_rate, path, "wav")
    if isinstance(audio, SpilledStem):
        audio.discard()


def _already_written() -> None:
    """The writer of a file drawn on the pipeline's own thread (videos, the cover): queued so
    that it is checked like the others."""


def _write_reported(task: Callable[[], object], name: str, out_dir: Path) -> None:
    with reported_as_engine_error(name, out_dir):
        task()


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
    from musewave.engine.video import video_name

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
        # A full disk or an encoder I/O error is one OutputFailed, as for the other files.
        with reported_as_engine_error(name, staging.parent):
            if guard_encode is None:
                render()
            else:
                guard_encode(render)
        written.append((name, "video", staging / name))
    return written


def _write_plan(
    plan: Plan, vocals: VocalTrack | None, request: GenerationRequest, path: Path
) -> Path:
    plan_data = plan.model_dump(mode="json")
    if vocals is not None:
        plan_data["vocals"] = _vocals_plan(vocals, request)
    path.write_text(json.dumps(plan_data, indent=2, ensure_ascii=False) + "\n")
    return path


def _report_file(stages: _Stages, verb: str, done: int, total: int, name: str) -> None:
    stages.report(done / total, f"{verb} {name}")
    stages.check()


def _describe_for(
    kinds: dict[str, str],
    staging: Path,
    out_dir: Path,
    duration_s: float,
    sample_rate: int,
    lines: list[TimedLine],
    name: str,
) -> Callable[[], OutputFile]:
    return partial(
        _describe, name, kinds[name], staging / name, duration_s, sample_rate, out_dir / name, lines
    )


def _sing(
    request: GenerationRequest,
    plan: Plan,
    raw_stems: dict[str, NDArray[np.float32]],
    sample_rate: int,
    n_samples: int,
    stages: _Stages,
) -> VocalTrack:
    """Render the vocals, levelled against the instrumental. Unsingable lyrics (too many
    blocks, too dense, an unreadable script) are an ``InvalidRequest``."""
    from musewave.engine.vocals.espeak import EspeakError, SpeakerFailed
    from musewave.engine.vocals.lyrics import LyricsError
    from musewave.engine.vocals.melody import MelodyError
    from musewave.engine.vocals.track import render_vocals

    try:
        vocals = render_vocals(
            plan,
            lyrics=request.lyrics,
            languages=request.vocal_languages,
            voice=request.voice,
            sample_rate=sample_rate,
            n_samples=n_samples,
            should_cancel=stages.should_cancel,
        )
    except SpeakerFailed as error:  # this machine's fault: another attempt may succeed
        raise EngineError(f"cannot sing: {error}") from error
    except (LyricsError, MelodyError, EspeakError) as error:
        raise InvalidRequest(f"cannot sing these lyrics: {error}") from error
    stages.check()
    if raw_stems:
        total = np.zeros_like(next(iter(raw_stems.values())))
        for audio in raw_stems.values():  # summed one by one: no stacked copy of every stem
            total += audio
        band_rms = float(np.sqrt(np.mean(total * total)))
        voice = vocals.audio[np.abs(vocals.audio) > 1e-4]
        voice_rms = float(np.sqrt(np.mean(voice * voice))) if voice.size else 0.0
        if band_rms > 0.0 and voice_rms > 0.0:
            vocals.audio *= np.float32(band_rms / voice_rms * 10 ** (VOCAL_LEVEL_DB / 20))
    return vocals


def _vocals_plan(vocals: VocalTrack, request: GenerationRequest) -> dict[str, object]:
    """What plan.json says about the vocals: who sang what, and the melody in ticks."""
    from musewave.engine.vocals.voices import DEFAULT_VOICE

    return {
        "voice": request.voice or DEFAULT_VOICE,
        "languages": request.vocal_languages or ["en"],
        "lyrics_written": vocals.written,
        "lines": [{"section": line.section, "text": line.text} for line in vocals.lines],
        "melody": [
            {
                "pitch": n.note.pitch,
                "start_tick": n.note.start_tick,
                "duration_ticks": n.note.duration_ticks,
                "lyric": n.lyric,
            }
            for n in vocals.melody
        ],
    }


def _write_midi(score: Score, vocals: VocalTrack | None, staging: Path) -> Path:
    """The score as MIDI; with vocals, a "vocals" track whose notes carry lyric events.

    mido loads here, on the writer's thread beside the render, not at start-up (~0.03 s)."""
    from musewave.engine.midi import write_midi

    if vocals is None:
        return write_midi(score, staging / "score.mid")
    part = Part("vocals", "vocals", "voice", VOCAL_MIDI_PROGRAM)
    part.notes = [
        Note(n.note.pitch, n.note.start_tick, n.note.duration_ticks, 100) for n in vocals.melody
    ]
    lyrics = [(n.note.start_tick, n.lyric) for n in vocals.melody if n.lyric]
    sung = Score(score.bpm, score.beats_per_bar, score.total_ticks, [*score.parts, part])
    return write_midi(sung, staging / "score.mid", {"vocals": lyrics})


def _caption_writers(
    vocals: VocalTrack, request: GenerationRequest, plan: Plan, staging: Path
) -> list[tuple[str, str, Callable[[], object]]]:
    """Writers of lyrics.srt, lyrics.lrc and lyrics.json from the sung lines, and of
    lyrics.txt, the text: (name, kind, task)."""
    from musewave.engine.vocals import captions
    from musewave.engine.vocals.voices import DEFAULT_VOICE

    languages = request.vocal_languages or ["en"]
    texts = {
        "lyrics.srt": captions.to_srt(vocals.lines),
        "lyrics.lrc": captions.to_lrc(vocals.lines, title=plan.title, length_s=plan.duration_s),
        "lyrics.json": captions.to_json(
            vocals.lines, language=languages, voice=request.voice or DEFAULT_VOICE
        ),
    }
    writers: list[tuple[str, str, Callable[[], object]]] = [
        (name, "captions", partial((staging / name).write_text, text, encoding="utf-8"))
        for name, text in texts.items()
    ]
    lyrics_text = vocals.lyrics.rstrip("\n") + "\n"
    path = staging / "lyrics.txt"
    writers.append(
        ("lyrics.txt", "lyrics", partial(path.write_text, lyrics_text, encoding="utf-8"))
    )
    return writers


def _describe(
    name: str,
    kind: str,
    staged: Path,
    duration_s: float,
    sample_rate: int,
    final: Path,
    lines: list[TimedLine],
) -> OutputFile:
    suffix = staged.suffix.lstrip(".")
    if kind in ("mix", "stem", "instrumental"):
        report = validate_audio_file(
            staged,
            expected_duration_s=duration_s,
            expected_sample_rate=None if suffix == "opus" else sample_rate,
            # A stem may play in one section only; it must not be empty, not loud.
            min_rms_dbfs=MIX_MIN_RMS_DBFS if kind == "mix" else STEM_MIN_RMS_DBFS,
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
        from musewave.engine.video import FPS, HEIGHT, WIDTH, validate_video_file

        video = validate_video_file(
            staged,
            expected_duration_s=duration_s,
            width=WIDTH,
            height=HEIGHT,
            fps=FPS,
            sample_rate=sample_rate,
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
        from musewave.engine.cover import COVER_PX, THUMBNAIL_PX, validate_image_file

        validate_image_file(staged, size_px=COVER_PX if kind == "cover" else THUMBNAIL_PX)
    data = staged.read_bytes()
    if kind == "captions":
        validate_captions(staged, lines, duration_s)
    kind_type = _MEDIA_TYPES.get(kind) or dict(CAPTION_FILES).get(name, "application/octet-stream")
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
