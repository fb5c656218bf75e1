"""Video benchmark: time to render a music video per style, on one core.

A real track is rendered once (the engine's mastered audio, as WAV); then each style's video
of it is rendered in a fresh process pinned to one core (unless ``--all-cores``). Prints a
Markdown table of medians: wall time, CPU time, the drawing's share, real-time factor, file
size and peak RSS. The target: a 60 s video in at most 30 s on one core.

    python bench/video_bench.py [--duration 60] [--repeats 3] [--styles lyric,spectrum]
                                [--all-cores]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROMPT = "dreamy synthwave night drive with neon lights"
SEED = 11

CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
if os.environ.get("MUSEWAVE_BENCH_ONE_CORE") == "1" and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
import numpy as np
import soundfile
from musewave.engine.plan import make_plan
from musewave.engine.request import GenerationRequest, DURATION_RANGE_CONTEXT, CLI_DURATION_RANGE_S
from musewave.engine.timed_lyrics import TimedLine, TimedWord
from musewave.engine.video import frame_renderer, render_video, HEIGHT, WIDTH
from musewave.engine.video.canvas import Canvas
style, wav, out, prompt = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
seed = int(sys.argv[5])
data, sample_rate = soundfile.read(wav, dtype="float32", always_2d=True)
audio = np.ascontiguousarray(data.T)
duration = audio.shape[1] / sample_rate
request = GenerationRequest.model_validate(
    {"prompt": prompt, "duration_s": duration, "seed": seed},
    context={DURATION_RANGE_CONTEXT: CLI_DURATION_RANGE_S},
)
plan = make_plan(request)
# A line every 4 s, four words each: the lyric style at work all the way through.
words = "neon rivers running through the night we drive until the morning light".split()
lines = [
    TimedLine(tuple(TimedWord(words[(i * 4 + j) % len(words)], t + j * 0.8, t + j * 0.8 + 0.6)
                    for j in range(4)), "verse 1")
    for i, t in enumerate(np.arange(1.0, duration - 4.0, 4.0))
]
start, cpu = time.perf_counter(), time.process_time()
path = render_video(style, plan, audio, sample_rate, out / f"video-{style}.mp4", lines=lines)
wall, cpu = time.perf_counter() - start, time.process_time() - cpu
draw, n_frames = frame_renderer(style, plan, audio, sample_rate, lines)
canvas = Canvas(WIDTH, HEIGHT)
draw_cpu = time.process_time()
for index in range(n_frames):
    draw(canvas, index)
draw_cpu = time.process_time() - draw_cpu
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "draw_cpu_s": draw_cpu, "frames": n_frames,
                  "bytes": path.stat().st_size, "rss_mb": rss_mb, "duration_s": duration}))
"""


def render_track(duration_s: float, folder: Path) -> Path:
    from musewave.engine import generate
    from musewave.engine.request import (
        CLI_DURATION_RANGE_S,
        DURATION_RANGE_CONTEXT,
        GenerationRequest,
    )

    request = GenerationRequest.model_validate(
        {"prompt": PROMPT, "duration_s": duration_s, "seed": SEED, "formats": ["wav"]},
        context={DURATION_RANGE_CONTEXT: CLI_DURATION_RANGE_S},
    )
    generate(request, folder)
    return folder / "mix.wav"


def run_case(style: str, wav: Path, one_core: bool) -> dict[str, float]:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MUSEWAVE_BENCH_ONE_CORE": "1" if one_core else "0",
    }
    with tempfile.TemporaryDirectory() as out:
        completed = subprocess.run(
            [sys.executable, "-c", CHILD, style, str(wav), out, PROMPT, str(SEED)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--styles", default="lyric,spectrum,waveform")
    parser.add_argument("--all-cores", action="store_true")
    args = parser.parse_args()
    print(f"duration {args.duration:g} s, {args.repeats} repeats, one core: {not args.all_cores}")
    print("| style | wall s | CPU s | drawing CPU s | × real time | MiB | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        wav = render_track(args.duration, Path(folder))
        for style in args.styles.split(","):
            runs = [run_case(style, wav, not args.all_cores) for _ in range(args.repeats)]

            def median(key: str, runs: list[dict[str, float]] = runs) -> float:
                return statistics.median(run[key] for run in runs)

            wall = median("wall_s")
            print(
                f"| {style} | {wall:.1f} | {median('cpu_s'):.1f} | {median('draw_cpu_s'):.1f} "
                f"| {runs[0]['duration_s'] / wall:.2f} | {median('bytes') / 2**20:.1f} "
                f"| {median('rss_mb'):.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
