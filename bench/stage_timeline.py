"""Where the shell command's wait goes: ``musewave generate`` (120 s, all stems, MP3 + WAV,
MIDI) as a fresh process, cut into phases by the progress lines it prints, with the CPU
the process used in each phase and so how many of the machine's cores it kept busy.

    python bench/stage_timeline.py [--repeats 3] [--genre house] [--src path/to/src]

A phase with fewer busy cores than the machine has can be shortened by overlapping work;
one with every core busy only by doing less. Phases: start-up (interpreter and imports,
until the first progress line), each pipeline stage (from its progress line to the next),
and exit (from the JSON summary on stdout to the end of the process). CPU is read from
``/proc/<pid>/stat`` (user + system of all the process's threads, not of child processes)
every 10 ms in 10 ms ticks, so each phase's CPU is good to about ±20 ms: the cores-busy
figure of a phase shorter than ~0.1 s is noise. Medians over ``--repeats`` runs (every run
must show the same phases). Linux only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

DURATION_S = 120.0
SAMPLE_S = 0.01
_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (None once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) * _TICK_S


def run_once(
    genre: str, seed: int, out: Path, env: dict[str, str]
) -> list[tuple[str, float, float]]:
    """One ``generate``: (phase, wall s, CPU s) in order."""
    command = [
        sys.executable, "-m", "musewave.cli", "generate", "speed benchmark track",
        "--genre", genre, "--duration", f"{DURATION_S:g}", "--format", "mp3,wav", "--stems",
        "--midi", "--seed", str(seed), "-o", str(out), "--json",
    ]  # fmt: skip
    marks: list[tuple[float, str]] = []  # (time, phase that starts then)
    samples: list[tuple[float, float]] = []  # (time, process CPU s)
    start = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, bufsize=0
    )

    def read_stages() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            text = line.decode(errors="replace")
            if text.startswith("[") and "%]" in text:  # "[  5.0%] rendering: …"
                marks.append((time.perf_counter(), text.split("]", 1)[1].split(":")[0].strip()))

    def read_summary() -> None:
        assert process.stdout is not None
        first = process.stdout.read(1)
        if first:
            marks.append((time.perf_counter(), "exit"))
        process.stdout.read()

    readers = [threading.Thread(target=read_stages), threading.Thread(target=read_summary)]
    for reader in readers:
        reader.start()
    while process.poll() is None:
        cpu = _cpu_s(process.pid)
        if cpu is not None:
            samples.append((time.perf_counter(), cpu))
        time.sleep(SAMPLE_S)
    end = time.perf_counter()
    for reader in readers:
        reader.join()
    if process.returncode != 0:
        raise RuntimeError(f"musewave generate failed ({process.returncode})")
    # The last sample is the process's total as near its end as /proc still showed it.
    cpu_at = [(start, 0.0), *samples]

    def cpu_until(moment: float) -> float:
        before = [cpu for when, cpu in cpu_at if when <= moment]
        return before[-1] if before else 0.0

    marks.sort()
    bounds = [(start, "start-up"), *marks, (end, "")]
    phases = []
    for (begin, name), (finish, _) in itertools.pairwise(bounds):
        phases.append((name, finish - begin, cpu_until(finish) - cpu_until(begin)))
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--genre", default="house")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--src", help="import musewave from this source tree")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = str(Path(args.src).resolve())
    with tempfile.TemporaryDirectory() as scratch:
        # Cached bytecode, as an installed package has it; one uncounted run warms it.
        env["PYTHONPYCACHEPREFIX"] = str(Path(scratch) / "pycache")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        run_once(args.genre, args.seed, Path(scratch) / "out", env)
        runs = [
            run_once(args.genre, args.seed, Path(scratch) / "out", env) for _ in range(args.repeats)
        ]
    cores = len(os.sched_getaffinity(0))
    names = [name for name, _, _ in runs[0]]
    for run in runs:  # medians are taken phase by phase
        if [name for name, _, _ in run] != names:
            raise SystemExit(f"runs showed different phases: {names} and {[n for n, _, _ in run]}")
    print(f"{args.genre}, {DURATION_S:g} s, medians of {args.repeats}; {cores} cores; "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'phase':<12} {'wall s':>7} {'CPU s':>7} {'cores busy':>10} {'idle core-s':>11}")
    total_wall = total_cpu = 0.0
    for index, name in enumerate(names):
        wall = statistics.median(run[index][1] for run in runs)
        cpu = statistics.median(run[index][2] for run in runs)
        total_wall, total_cpu = total_wall + wall, total_cpu + cpu
        busy = cpu / wall if wall > 0 else 0.0
        print(
            f"{name:<12} {wall:7.2f} {cpu:7.2f} {busy:10.2f} {max(0.0, cores - busy) * wall:11.2f}"
        )
    print(f"{'total':<12} {total_wall:7.2f} {total_cpu:7.2f} {total_cpu / total_wall:10.2f}")


if __name__ == "__main__":
    main()
