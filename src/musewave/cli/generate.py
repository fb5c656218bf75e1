"""``musewave generate``: render a track on this machine, with a live progress bar."""

from __future__ import annotations

import atexit
import functools
import gc
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from musewave.cli.console import err_console, fail, out_console
from musewave.engine.errors import Cancelled, EngineError, InvalidRequest
from musewave.engine.request import (
    AUDIO_FORMATS,
    CLI_DURATION_RANGE_S,
    DURATION_RANGE_CONTEXT,
    VIDEO_STYLES,
    GenerationRequest,
)

if TYPE_CHECKING:
    from musewave.engine.pipeline import GenerationResult
    from musewave.engine.progress import ProgressEvent
    from musewave.planning import Planner


def _validation_message(error: ValidationError) -> str:
    """The first problem, on one line: ``duration_s: duration must be between 10 and 300 s``."""
    first = error.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "request"
    text = str(first["msg"]).removeprefix("Value error, ")
    return f"{field}: {text}"


def _planner() -> Planner | None:
    """The LLM planner when ``MUSEWAVE_LLM_PROVIDER`` names a model, else None (the rules).
    Settings are read only then: a render needs none of the others."""
    if os.environ.get("MUSEWAVE_LLM_PROVIDER", "none").strip() in ("", "none"):
        return None
    from musewave.config import Settings
    from musewave.planning import Planner
    from musewave.resilience import Breakers

    try:
        settings = Settings()
    except ValidationError as error:
        raise fail(f"settings: {_validation_message(error).removeprefix('request: ')}") from None
    from musewave.observability.logging import configure_logging

    # On stderr, beside the progress: a fallback to the rules is worth a line, a plan is not.
    configure_logging(settings.model_copy(update={"log_level": "warning"}))
    return Planner.from_settings(settings, Breakers.from_settings(settings))


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def generate_command(
    prompt: Annotated[str, typer.Argument(help="What the track should sound like.")],
    genre: Annotated[
        list[str] | None, typer.Option("--genre", "-g", help="Genre (repeat or comma-separate).")
    ] = None,
    duration: Annotated[
        float, typer.Option("--duration", "-d", help="Length in seconds (10–300).")
    ] = 60.0,
    bpm: Annotated[float | None, typer.Option(help="Tempo in BPM (40–220).")] = None,
    key: Annotated[str | None, typer.Option(help="Key, e.g. 'D minor' or 'F# dorian'.")] = None,
    time_signature: Annotated[str, typer.Option(help="4/4 or 3/4.")] = "4/4",
    seed: Annotated[int | None, typer.Option(help="Seed; same seed, same track.")] = None,
    loop: Annotated[bool, typer.Option(help="Make the track loop seamlessly.")] = False,
    artist: Annotated[str | None, typer.Option(help="Artist inspiration.")] = None,
    formats: Annotated[
        str, typer.Option("--format", "-f", help=f"Comma-separated: {', '.join(AUDIO_FORMATS)}.")
    ] = "mp3,wav",
    stems: Annotated[bool, typer.Option(help="Also write stems/<part>.wav.")] = False,
    midi: Annotated[bool, typer.Option(help="Also write score.mid.")] = False,
    lyrics_file: Annotated[
        Path | None,
        typer.Option(
            "--lyrics-file",
            help="UTF-8 lyrics to sing; [Verse]/[Chorus]/[Bridge] tags place the blocks.",
        ),
    ] = None,
    vocal_language: Annotated[
        list[str] | None,
        typer.Option(
            "--vocal-language", help="Language(s) to sing in, e.g. en, es, ja (repeat or comma)."
        ),
    ] = None,
    voice: Annotated[
        str | None,
        typer.Option(help="Singer: male, female, soft or choir. Without lyrics, writes some."),
    ] = None,
    video: Annotated[
        str | None,
        typer.Option(
            help="Also render music videos, video-<style>.mp4; comma-separated styles: "
            f"{', '.join(VIDEO_STYLES)}.",
        ),
    ] = None,
    cover: Annotated[
        bool, typer.Option(help="Also draw cover art: cover.jpg (3000×3000), cover-600.jpg.")
    ] = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Render a track from a prompt into OUT (mix, optional stems, MIDI, videos and cover art,
    plan.json).

    Lyrics, a vocal language or a voice make it sung: then OUT also holds instrumental.wav
    and the captions lyrics.srt, lyrics.lrc and lyrics.json."""
    lyrics = None
    if lyrics_file is not None:
        try:
            lyrics = lyrics_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise fail(f"cannot read lyrics file {lyrics_file}: {error}") from None
    languages = _split(vocal_language)
    data = {
        "prompt": prompt,
        "genres": _split(genre),
        "duration_s": duration,
        "bpm": bpm,
        "key": key,
        "time_signature": time_signature,
        "seed": seed,
        "loop": loop,
        "artist_inspiration": artist,
        "formats": _split([formats]),
        "stems": stems,
        "midi": midi,
        "lyrics": lyrics,
        "vocal_languages": languages,
        "voice": voice,
        "instrumental": not (lyrics or languages or voice),
        "cover_art": cover,
    }
    if video is not None:
        data["video_styles"] = _split([video])
        data["generate_video"] = True
    try:
        request = GenerationRequest.model_validate(
            data, context={DURATION_RANGE_CONTEXT: CLI_DURATION_RANGE_S}
        )
    except ValidationError as error:
        raise fail(_validation_message(error)) from None
    if out.exists() and not out.is_dir():
        raise fail(f"output path {out} exists and is not a folder; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # -o names a place no folder can be (a file, /proc): bad input
        raise fail(
            f"cannot write to {out}: {error.strerror or error}; choose another --out"
        ) from None

    planner = _planner()
    from musewave.engine.memory import limit_malloc_arenas
    from musewave.engine.pipeline import resolve_seed  # the DSP stack loads only to render

    limit_malloc_arenas()

    request = resolve_seed(request)
    if seed is None:
        err_console.print(f"seed: {request.seed} (pass --seed {request.seed} to reproduce)")
    try:
        result = _run_with_progress(request, out, planner)
    except Cancelled:
        raise fail("cancelled; nothing was written", code=130) from None
    except InvalidRequest as error:  # e.g. an output folder nobody may write: bad input
        raise fail(str(error)) from None
    except EngineError as error:  # a disk full, a file that did not decode back
        raise fail(str(error), code=1) from None
    finally:
        if planner is not None:
            planner.close()
    if as_json:
        out_console.print_json(json.dumps(_summary(result)))
    else:
        _print_summary(result)
    _skip_collection_at_exit()


@functools.cache  # once per process, however many renders a test runs in it
def _skip_collection_at_exit() -> None:
    """At exit the interpreter's last collections walk every object still alive (the SoundFont,
    FFmpeg and numpy stacks among them): ~0.1 s of a render's wait on a quiet machine, for
    nothing. Freezing them first keeps them out of reach. Exit handlers still run; what is
    skipped are the finalizers of objects caught in reference cycles, and every file of the
    render is closed by then (each was decoded back)."""
    atexit.register(gc.freeze)


def _run_with_progress(
    request: GenerationRequest, out: Path, planner: Planner | None
) -> GenerationResult:
    from functools import partial

    from musewave.engine.pipeline import generate as generate_with

    generate = partial(generate_with, planner=planner) if planner is not None else generate_with

    if not err_console.is_terminal:
        last_stage = ""

        def log_line(event: ProgressEvent) -> None:
            nonlocal last_stage
            if event.stage != last_stage:
                last_stage = event.stage
                err_console.print(f"[{event.progress:5.1f}%] {event.stage}: {event.message}")

        return generate(request, out, on_progress=log_line)

    columns = (
        TextColumn("[bold]{task.fields[stage]:<10}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as progress:
        task = progress.add_task("starting", total=100, stage="")

        def update(event: ProgressEvent) -> None:
            progress.update(
                task, completed=event.progress, description=event.message, stage=event.stage
            )

        result = generate(request, out, on_progress=update)
        progress.update(task, completed=100, description="done", stage="completed")
    return result


def _summary(result: GenerationResult) -> dict[str, object]:
    plan = result.plan
    return {
        "title": plan.title,
        "planner": plan.planner,
        "seed": plan.seed,
        "genre": plan.genre,
        "bpm": round(plan.bpm, 2),
        "key": plan.key,
        "duration_s": plan.duration_s,
        "sections": [
            {"label": s.label, "start_s": s.start_s, "end_s": s.end_s, "beats": s.beats}
            for s in plan.sections
        ],
        "integrated_lufs": round(result.integrated_lufs, 2),
        "true_peak_dbtp": round(result.true_peak_dbtp, 2),
        "files": [
            {"name": f.name, "path": str(f.path), "bytes": f.size_bytes, "sha256": f.sha256}
            for f in result.files
        ],
        "timings_s": result.timings_s,
    }


def _bars(beats: int, beats_per_bar: int) -> str:
    """Whole bars, and the beats of a last, partial bar (a tempo that was asked for rarely
    fills the duration with whole bars): ``"8"``, ``"6 + 2 beats"``."""
    bars, extra = divmod(beats, beats_per_bar)
    if not extra:
        return str(bars)
    return f"{bars} + {extra} beat{'s' if extra > 1 else ''}"


def _print_summary(result: GenerationResult) -> None:
    plan = result.plan
    by = "" if plan.planner == "rules" else f", planned by {plan.planner}"
    out_console.print(f"\n[bold]{plan.title}[/]  ({plan.genre}, seed {plan.seed}{by})")
    out_console.print(
        f"{plan.bpm:.1f} BPM · {plan.key} · {plan.time_signature} · {plan.duration_s:.2f} s · "
        f"{result.integrated_lufs:.1f} LUFS integrated · "
        f"true peak {result.true_peak_dbtp:.1f} dBTP",
        soft_wrap=True,
    )
    sections = Table("section", "start", "end", "bars", title="Sections", title_justify="left")
    for s in plan.sections:
        sections.add_row(
            s.label, f"{s.start_s:6.2f} s", f"{s.end_s:6.2f} s", _bars(s.beats, plan.beats_per_bar)
        )
    out_console.print(sections)
    files = Table("file", "size", title="Files written", title_justify="left")
    for f in result.files:
        files.add_row(str(f.path), f"{f.size_bytes / 1024:,.0f} KiB")
    out_console.print(files)
    total = sum(result.timings_s.values())
    out_console.print(f"rendered in {total:.2f} s ({plan.duration_s / total:.0f}× real time)")
