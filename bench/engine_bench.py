"""Engine benchmark: wall time, real-time factor and peak RSS per (genre, duration).

Each run is a fresh process pinned to one core (unless ``--all-cores``), rendering mix
(MP3 + WAV), all stems, MIDI and plan, exactly like ``musewave generate --stems --midi``.
Prints a Markdown table of medians.

    python bench/engine_bench.py [--repeats 3] [--genres house,lofi] [--durations 30,60,120]
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

CHILD = r"""
import json, os, resource, sys, tempfile, time
from pathlib import Path
if os.environ.get("MUSEWAVE_BENCH_ONE_CORE") == "1" and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
from musewave.engine import GenerationRequest, generate
genre, duration, out = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3])
request = GenerationRequest(prompt="benchmark track", genres=[genre], duration_s=duration,
                            seed=1234, formats=["mp3", "wav"], stems=True, midi=True)
start = time.perf_counter()
result = generate(request, out)
wall = time.perf_counter() - start
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"wall_s": wall, "rss_mb": rss_mb, "stages": result.timings_s}))
"""

DEFAULT_GENRES = "house,lofi,synthwave,dnb,ambient,rock"


def run_case(genre: str, duration: float, one_core: bool) -> dict[str, object]:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MUSEWAVE_BENCH_ONE_CORE": "1" if one_core else "0",
    }
    with tempfile.TemporaryDirectory() as out:
        completed = subprocess.run(
            [sys.executable, "-c", CHILD, genre, str(duration), out],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--genres", default=DEFAULT_GENRES)
    parser.add_argument("--durations", default="30,60,120")
    parser.add_argument(
        "--all-cores", action="store_true", help="don't pin to one core (file threads help)"
    )
    args = parser.parse_args()

    print("| genre | audio s | wall s (median) | RTF | peak RSS MB | slowest stages (s) |")
    print("|---|---:|---:|---:|---:|---|")
    for duration in [float(d) for d in args.durations.split(",")]:
        for genre in args.genres.split(","):
            runs = [run_case(genre, duration, not args.all_cores) for _ in range(args.repeats)]
            wall = statistics.median(float(r["wall_s"]) for r in runs)  # type: ignore[arg-type]
            rss = statistics.median(float(r["rss_mb"]) for r in runs)  # type: ignore[arg-type]
            stages: dict[str, list[float]] = {}
            for r in runs:
                for stage, seconds in r["stages"].items():  # type: ignore[attr-defined]
                    stages.setdefault(stage, []).append(seconds)
            top = sorted(((statistics.median(v), k) for k, v in stages.items()), reverse=True)[:3]
            slowest = ", ".join(f"{k} {v:.2f}" for v, k in top)
            print(
                f"| {genre} | {duration:g} | {wall:.2f} | {duration / wall:.0f} | {rss:.0f} | "
                f"{slowest} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
