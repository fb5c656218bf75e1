"""Speed as a user waits for it: a 120 s track with all stems, mix, master, MP3 + WAV, MIDI and
validation, measured four ways, each as the median of ``--repeats`` runs:

- **shell**: ``musewave generate … --duration 120 --format mp3,wav --stems --midi`` as a fresh
  process (wall, user and system CPU, peak RSS of that process, from ``wait4``);
- **job**: ``POST /v1/generations`` with ``Prefer: wait`` to a running ``musewave serve``
  (embedded mode, default concurrency): enqueue → completed as the client sees it, and the
  peak RSS of the server's processes meanwhile (sampled every 20 ms);
- **render**: plan → master in-process on one core (no encoding, no files): the real-time
  factor (RTF) of the music engine itself;
- **lame**: the physical floor, LAME (through pedalboard, as ``encode`` uses it) encoding the
  same 120 s mix to MP3 once, in the same run.

The machine is shared and noisy, so every row also reports its ratio to the LAME floor
measured in the same run, interleaved with the cases (one round = one run of each).

    python bench/speed_bench.py [--repeats 5] [--genre house] [--skip-job] \
        [--src /path/to/other/src --src src]

With ``--src`` (repeatable) every round runs each case once per source tree, alternating, so
a branch compares with main under the same load. Children run as an installed package does:
with bytecode cached (in a scratch ``PYTHONPYCACHEPREFIX``, warmed by one uncounted run per
tree), whatever ``PYTHONDONTWRITEBYTECODE`` says.

Needs nothing beyond the package and its dev dependencies (httpx, psutil).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil

DURATION_S = 120.0
PROMPT = "speed benchmark track"
READY_TIMEOUT_S = 180.0  # a busy shared machine starts a server slowly

# One core, plan → master, timed inside the process (imports excluded).
RENDER_CHILD = r"""
import json, os, sys, time
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
from musewave.engine import GenerationRequest
from musewave.engine.compose import compose_score
from musewave.engine.master import master
from musewave.engine.mix import mix
from musewave.engine.pipeline import FADE_OUT_S, SAMPLE_RATE
from musewave.engine.plan import make_plan
from musewave.engine.profiles import MIX_PROFILES
from musewave.engine.render import render_stems
genre, seed, duration = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
request = GenerationRequest(prompt="speed benchmark track", genres=[genre], duration_s=duration,
                            seed=seed, formats=["mp3", "wav"], stems=True, midi=True)
stages = {}
cpu = time.process_time()
start = last = time.perf_counter()
def lap(name):
    global last
    now = time.perf_counter(); stages[name] = now - last; last = now
plan = make_plan(request); lap("plan")
score = compose_score(plan); lap("compose")
n = round(plan.duration_s * SAMPLE_RATE)
stems = render_stems(score, SAMPLE_RATE, n, plan.seed, lambda: False); lap("render")
profile = MIX_PROFILES.get(plan.mix_profile, MIX_PROFILES["default"])
mixed, premaster = mix(stems, score, profile, sample_rate=SAMPLE_RATE, n_samples=n, in_place=True)
lap("mix")
mastered = master(premaster, profile, sample_rate=SAMPLE_RATE, fade_in_s=0.01,
                  fade_out_s=min(FADE_OUT_S, plan.duration_s / 10), loop=False)
lap("master")
print(json.dumps({"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
                  "stages": stages}))
"""

# LAME through pedalboard, exactly as ``encode`` writes MP3, on an existing WAV.
LAME_CHILD = r"""
import json, sys, time
import numpy as np
import soundfile
from pedalboard.io import AudioFile
from musewave.engine.encode import MP3_QUALITY
audio, rate = soundfile.read(sys.argv[1], dtype="float32", always_2d=True)
audio = np.ascontiguousarray(audio.T)
start, cpu = time.perf_counter(), time.process_time()
with AudioFile(sys.argv[2], "w", rate, audio.shape[0], quality=MP3_QUALITY) as file:
    file.write(audio)
print(json.dumps({"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu}))
"""


_TREE_ENV: dict[str, str] = {}  # PYTHONPATH (and bytecode cache) of the tree being measured


def _child_env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", **_TREE_ENV}
    if "PYTHONPYCACHEPREFIX" in _TREE_ENV:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@contextlib.contextmanager
def _tree(src: str | None, cache: Path) -> Iterator[None]:
    """Children import musewave from ``src`` (None: as this process would) meanwhile."""
    saved = dict(_TREE_ENV)
    _TREE_ENV["PYTHONPYCACHEPREFIX"] = str(cache)
    if src is not None:
        _TREE_ENV["PYTHONPATH"] = str(Path(src).resolve())
    try:
        yield
    finally:
        _TREE_ENV.clear()
        _TREE_ENV.update(saved)


def _wait_rusage(process: subprocess.Popen[bytes]) -> tuple[int, os.struct_rusage]:
    """Reap ``process`` and return its status and its own resource usage."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage


def run_shell(genre: str, seed: int, out: Path) -> dict[str, float]:
    """``musewave generate`` as a fresh process: wall, CPU and peak RSS of that process."""
    command = [
        sys.executable, "-m", "musewave.cli", "generate", PROMPT, "--genre", genre,
        "--duration", f"{DURATION_S:g}", "--format", "mp3,wav", "--stems", "--midi",
        "--seed", str(seed), "-o", str(out), "--json",
    ]  # fmt: skip
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=_child_env())
        code, usage = _wait_rusage(process)
        wall = time.perf_counter() - start
        if code != 0:
            stderr.seek(0)
            raise RuntimeError(f"musewave generate failed ({code}): {stderr.read()[-2000:]!r}")
    return {
        "wall_s": wall,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,
    }


def run_child(code: str, *args: str) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True, text=True, check=True, env=_child_env(),
    )  # fmt: skip
    result: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``musewave serve`` in embedded mode on a private data folder and a free port."""

    def __init__(self, data_dir: Path) -> None:
        self.port = _free_port()
        env = {k: v for k, v in _child_env().items() if not k.startswith("MUSEWAVE_")}
        env.update(
            {
                "MUSEWAVE_DATA_DIR": str(data_dir),
                "MUSEWAVE_LOG_LEVEL": "warning",
                "MUSEWAVE_RATE_ANONYMOUS": "100000/minute",
                "MUSEWAVE_RATE_GENERATIONS": "100000/minute",
            }
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log = (data_dir / "server.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "musewave.cli", "serve", "--port", str(self.port)],
            env=env, cwd=data_dir, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=300.0)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:  # readiness has no event to await: poll briefly
            if self.process.poll() is not None:
                raise RuntimeError(f"musewave serve exited ({self.process.returncode})")
            with contextlib.suppress(httpx.TransportError):
                if self.client.get("/health/ready").status_code == 200:
                    return
            time.sleep(0.1)
        self.close()  # not left running (and writing) behind the error
        raise RuntimeError("musewave serve was not ready in time")

    def close(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def run_job(self, genre: str, seed: int) -> dict[str, float]:
        """Enqueue → completed through the API, and the server's peak RSS meanwhile."""
        body = {
            "prompt": PROMPT, "genres": [genre], "duration_s": DURATION_S, "seed": seed,
            "formats": ["mp3", "wav"], "stems": True, "midi": True,
        }  # fmt: skip
        with _peak_rss(self.process.pid) as peak:
            start = time.perf_counter()
            response = self.client.post("/v1/generations", json=body, headers={"Prefer": "wait"})
            job = response.json()
            # On a very busy machine the longest wait may pass first: then follow the job.
            while job.get("state") in ("queued", "active"):
                time.sleep(0.02)
                job = self.client.get(f"/v1/jobs/{job['id']}").json()
            wall = time.perf_counter() - start
        if job.get("state") != "completed":
            raise RuntimeError(f"job did not complete: {response.status_code} {job}")
        return {"wall_s": wall, "rss_mb": peak["worker_mb"], "server_mb": peak["server_mb"]}


@contextlib.contextmanager
def _peak_rss(pid: int) -> Iterator[dict[str, float]]:
    """Largest RSS of the process ``pid`` and of any one of its children while inside."""
    peak = {"server_mb": 0.0, "worker_mb": 0.0}
    stop = threading.Event()

    def sample() -> None:
        server = psutil.Process(pid)
        while not stop.wait(0.02):
            with contextlib.suppress(psutil.Error):
                peak["server_mb"] = max(peak["server_mb"], server.memory_info().rss / 2**20)
                for child in server.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        rss = child.memory_info().rss / 2**20
                        peak["worker_mb"] = max(peak["worker_mb"], rss)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join()


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--genre", default="house")
    parser.add_argument("--skip-job", action="store_true", help="no server, no job path")
    parser.add_argument(
        "--src", action="append", help="a source tree to measure (repeat to alternate trees)"
    )
    args = parser.parse_args()
    trees: list[str | None] = list(args.src) if args.src else [None]

    results: dict[str | None, dict[str, list[dict[str, float]]]] = {
        tree: {"shell": [], "job": [], "render": []} for tree in trees
    }
    lame_runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="musewave-speed-") as scratch:
        root = Path(scratch)
        servers: dict[str | None, Server] = {}
        try:
            for index, tree in enumerate(trees):
                with _tree(tree, root / f"pycache-{index}"):
                    # Warm-up, uncounted: bytecode written, page cache filled.
                    run_shell(args.genre, 998, root / f"warm-{index}")
                    if not args.skip_job:  # a first job warms the worker processes up
                        servers[tree] = Server(root / f"server-{index}")
                        servers[tree].run_job(args.genre, seed=999)
            for round_index in range(args.repeats):
                seed = 1000 + round_index  # a new seed each time: never a cached result
                for index, tree in enumerate(trees):
                    with _tree(tree, root / f"pycache-{index}"):
                        runs = results[tree]
                        out = root / f"shell-{index}-{round_index}"
                        runs["shell"].append(run_shell(args.genre, seed, out))
                        if index == 0:
                            lame = run_child(
                                LAME_CHILD, str(out / "mix.wav"), str(root / "floor.mp3")
                            )
                            lame_runs.append({k: float(lame[k]) for k in ("wall_s", "cpu_s")})  # type: ignore[arg-type]
                        render = run_child(RENDER_CHILD, args.genre, str(seed), f"{DURATION_S:g}")
                        runs["render"].append({k: float(render[k]) for k in ("wall_s", "cpu_s")})  # type: ignore[arg-type]
                        if tree in servers:
                            runs["job"].append(
                                servers[tree].run_job(args.genre, seed=2000 + round_index)
                            )
                print(f"round {round_index + 1}/{args.repeats} done", file=sys.stderr, flush=True)
        finally:
            for server in servers.values():
                server.close()

    floor = _median(lame_runs, "wall_s")
    floor_cpu = _median(lame_runs, "cpu_s")
    print(
        f"\n{args.repeats} rounds, {args.genre}, {DURATION_S:g} s track, medians; LAME floor "
        f"(MP3 of the same mix, once): {floor:.2f} s wall, {floor_cpu:.2f} s CPU\n"
    )
    print("Wall ratios compare with the floor's wall, CPU ratios with its CPU time (CPU time")
    print("moves less with the machine's load). RTF: audio seconds per wall second.\n")
    for tree in trees:
        if tree is not None:
            print(f"\n`{tree}`\n")
        _table(results[tree], floor, floor_cpu)


def _table(results: dict[str, list[dict[str, float]]], floor: float, floor_cpu: float) -> None:
    print("| path | wall s | wall × floor | CPU s (user+sys) | CPU × floor | peak RSS MB | RTF |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    shell = results["shell"]
    shell_wall = _median(shell, "wall_s")
    shell_cpu = statistics.median(r["user_s"] + r["sys_s"] for r in shell)
    print(
        f"| shell `musewave generate` | {shell_wall:.2f} | {shell_wall / floor:.2f} | "
        f"{shell_cpu:.2f} ({_median(shell, 'user_s'):.2f}+{_median(shell, 'sys_s'):.2f}) | "
        f"{shell_cpu / floor_cpu:.2f} | {_median(shell, 'rss_mb'):.0f} | "
        f"{DURATION_S / shell_wall:.0f} |"
    )
    if results["job"]:
        job_wall = _median(results["job"], "wall_s")
        print(
            f"| job enqueue → completed | {job_wall:.2f} | {job_wall / floor:.2f} | | | "
            f"{_median(results['job'], 'rss_mb'):.0f} (worker) | {DURATION_S / job_wall:.0f} |"
        )
    render_wall = _median(results["render"], "wall_s")
    render_cpu = _median(results["render"], "cpu_s")
    print(
        f"| render plan → master, 1 core | {render_wall:.2f} | {render_wall / floor:.2f} | "
        f"{render_cpu:.2f} | {render_cpu / floor_cpu:.2f} | | {DURATION_S / render_wall:.0f} "
        f"({DURATION_S / render_cpu:.0f} per CPU s) |"
    )
    print(
        f"| LAME floor | {floor:.2f} | 1.00 | {floor_cpu:.2f} | 1.00 | | {DURATION_S / floor:.0f} |"
    )


if __name__ == "__main__":
    main()
