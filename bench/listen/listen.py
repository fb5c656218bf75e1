"""The listening bench: render prompts with one MuseWave source tree, let pretrained models
listen, print per genre what they hear (tags, instrument families, notes, key, tempo).

Run it with ``make listen`` (builds the bench's own environment first), or directly with that
environment's Python::

    bench/listen/.venv/bin/python bench/listen/listen.py --src /path/to/src [--quick]
        [--genres trap,pop] [--per-genre 2] [--duration 30] [--out DIR]

Renders are made by ``render.py`` under ``--render-python`` (the project's environment) with
``PYTHONPATH`` set to ``--src``, and cached under ``--out`` by a hash of the tree's files and the
prompt, seed and duration; the models' raw outputs are cached beside each render, so a re-run
of an unchanged tree only re-judges. Writes ``results-<tree>.json`` (raw and judged) and
``results-<tree>.md`` (the tables) to ``--out`` (default: ``out/listen``, git-ignored).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import judge
import prompts

REPO = Path(__file__).resolve().parents[2]
# Bump when the raw model outputs cached beside the renders change meaning.
RAW_VERSION = "1"
CONTROL_SECONDS = 30.0
QUICK_DURATION_S = 20.0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        chosen = prompts.select(args.genres, args.per_genre, seed_offset=args.seed_offset)
    except ValueError as error:
        print(f"listen: {error}", file=sys.stderr)
        return 2
    src = args.src.resolve()
    if not (src / "musewave" / "engine" / "pipeline.py").is_file():
        print(f"listen: {src} is not a MuseWave source tree (no musewave/engine)", file=sys.stderr)
        return 2
    tree = tree_hash(src)
    git = _git_describe(src)
    started = time.perf_counter()
    jobs = render_all(chosen, src, tree, args)
    renders = [j for j in jobs if "error" not in j]
    if not renders:
        print("listen: every render failed", file=sys.stderr)
        return 1
    rendered = time.perf_counter()
    listeners = _LazyListeners()
    controls = control_tags(listeners, args.out)
    raws = analyze_all(renders, args.jobs)
    analyzed = time.perf_counter()
    pngs = spectrograms(renders, args.out / "png" / tree[:12], args.png)
    report = build_report(raws, controls)
    report["run"] = {
        "src": str(src),
        "tree_hash": tree,
        "git": git,
        "duration_s": args.duration,
        "renders": len(raws),
        "render_seconds": round(rendered - started, 1),
        "analysis_seconds": round(analyzed - rendered, 1),
        "total_seconds": round(time.perf_counter() - started, 1),
        "spectrograms": [str(p) for p in pngs],
        "failed": [{"prompt": j["prompt"], "error": j["error"]} for j in jobs if "error" in j],
    }
    baseline = rejudged(json.loads(args.baseline.read_text()), controls) if args.baseline else None
    markdown = render_markdown(report, baseline)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = results_name(tree, args)
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1))
    (args.out / f"{stem}.md").write_text(markdown + "\n" + render_details(report))
    print(markdown)
    print(f"results: {args.out / stem}.md (+ .json)")
    return 0


def rejudged(results: dict[str, Any], controls: dict[str, dict[str, float]]) -> dict[str, Any]:
    """An earlier results JSON with its models' raw outputs judged again by today's rules, so
    a before/after differs only by the renders (returned as it is when it kept no raw
    outputs)."""
    if not results.get("raw"):
        return results
    return {**build_report(results["raw"], controls), "run": results.get("run", {})}


def results_name(tree: str, args: argparse.Namespace) -> str:
    """``results-<tree>`` for the full default run; another selection of the same tree gets a
    suffix (``-o500`` seed offset, ``-d20`` duration, ``-g<digest>`` genres and count), so a
    held-out or partial run never overwrites the full one."""
    parts = [f"results-{tree[:12]}"]
    if args.seed_offset:
        parts.append(f"o{args.seed_offset}")
    if args.duration != 30.0:
        parts.append(f"d{args.duration:g}")
    if args.genres or args.per_genre != 3:
        chosen = f"{','.join(args.genres or [])}/{args.per_genre}"
        parts.append(f"g{hashlib.sha256(chosen.encode()).hexdigest()[:6]}")
    return "-".join(parts)


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", type=Path, default=REPO / "src", help="source tree to render")
    parser.add_argument(
        "--render-python",
        default=os.environ.get("MUSEWAVE_PYTHON", str(REPO / ".venv" / "bin" / "python")),
        help="a Python with MuseWave's dependencies (default: $MUSEWAVE_PYTHON or .venv)",
    )
    parser.add_argument("--genres", type=lambda s: [g.strip() for g in s.split(",") if g.strip()])
    parser.add_argument("--per-genre", type=int, default=3)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per render")
    parser.add_argument(
        "--seed-offset",
        type=int,
        default=0,
        help="add this to every seed: held-out renders, so changes are not tuned to one seed",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"one prompt per genre, {QUICK_DURATION_S:g} s each"
    )
    parser.add_argument(
        "--png",
        choices=("first", "all", "none"),
        default="first",
        help="mel spectrograms of the mixes: first render per genre (default), all, none",
    )
    parser.add_argument("--out", type=Path, default=REPO / "out" / "listen")
    parser.add_argument(
        "--jobs", type=int, default=2, help="listening processes (each loads the models)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="an earlier results-<tree>.json: its models' outputs judged by today's rules, "
        "shown beside these (before / after)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.per_genre = 1
        args.duration = QUICK_DURATION_S
    if args.per_genre < 1:
        parser.error("--per-genre must be at least 1")
    return args


# Parts of the source tree that renders never import (the service side): edits there keep the
# cache. Everything else under the tree counts, dirty or not.
SERVICE_PARTS = frozenset(
    {"access", "cache", "cli", "db", "jobs", "observability", "resilience", "service"}
    | {"storage", "webhooks", "redis_connections.py"}
)


def tree_hash(src: Path) -> str:
    """SHA-256 over the files that renders depend on (path and bytes); uncommitted edits count,
    caches, egg-info and the service side (``SERVICE_PARTS``) do not."""
    digest = hashlib.sha256()
    for path in sorted(src.rglob("*")):
        parts = path.relative_to(src).parts
        if (
            not path.is_file()
            or "__pycache__" in parts
            or path.suffix == ".pyc"
            or parts[0].endswith(".egg-info")
            or (len(parts) > 1 and parts[1] in SERVICE_PARTS)
        ):
            continue
        digest.update("/".join(parts).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _git_describe(src: Path) -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(src), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return head.stdout.strip()


# --- rendering --------------------------------------------------------------------------------


def render_all(
    chosen: Sequence[prompts.Prompt], src: Path, tree: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Render what the cache lacks; return one job dict per prompt (with its ``dir``)."""
    jobs = []
    for prompt in chosen:
        key = json.dumps([prompt.genre, prompt.text, prompt.seed, args.duration])
        job_dir = args.out / "cache" / tree[:16] / hashlib.sha256(key.encode()).hexdigest()[:16]
        jobs.append(
            {
                "dir": str(job_dir.resolve()),
                "prompt": prompt.text,
                "genre": prompt.genre,
                "seed": prompt.seed,
                "duration_s": args.duration,
            }
        )
    missing = [j for j in jobs if not (Path(j["dir"]) / "done.json").is_file()]
    print(f"listen: tree {tree[:12]} ({src}): {len(jobs)} renders, {len(missing)} to make")
    if missing:
        env = {**os.environ, "PYTHONPATH": str(src)}
        process = subprocess.Popen(
            [args.render_python, str(Path(__file__).with_name("render.py")), str(src)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(json.dumps(missing))
        process.stdin.close()
        for count, line in enumerate(process.stdout, start=1):
            record = json.loads(line)
            if "error" in record:
                failed = next(j for j in jobs if j["dir"] == record["dir"])
                failed["error"] = record["error"]
                print(f"  render {count}/{len(missing)} FAILED: {record['error']}", flush=True)
            else:
                print(f"  rendered {count}/{len(missing)} in {record['seconds']:.1f} s", flush=True)
        if process.wait() != 0:
            raise SystemExit(f"listen: rendering failed (exit {process.returncode})")
        for job in missing:
            if "error" not in job and not (Path(job["dir"]) / "done.json").is_file():
                job["error"] = "the renderer did not report this job"
    return jobs


# --- listening --------------------------------------------------------------------------------


class _LazyListeners:
    """Loads the models on first use: a fully cached re-run never pays for TensorFlow."""

    def __init__(self) -> None:
        self._models: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._models is None:
            import models

            print("listen: loading the models", flush=True)
            self._models = models.Listeners()
        return getattr(self._models, name)


def control_tags(listeners: Any, out: Path) -> dict[str, dict[str, float]]:
    """Merged tags of silence, white noise and pink noise (cached in ``out``)."""
    path = out / f"controls-v{RAW_VERSION}.json"
    if path.is_file():
        return dict(json.loads(path.read_text()))
    sr = 16_000
    n = int(CONTROL_SECONDS * sr)
    rng = np.random.default_rng(0)
    white = rng.standard_normal(n).astype(np.float32) * 0.1
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.shape[0]))  # 1/f power
    pink = np.fft.irfft(spectrum, n)
    pink = (pink / np.max(np.abs(pink)) * 0.5).astype(np.float32)
    signals = {"silence": np.zeros(n, np.float32), "white_noise": white, "pink_noise": pink}
    controls = {
        name: judge.merged(listeners.msd.tag(x, sr), listeners.mtt.tag(x, sr))
        for name, x in signals.items()
    }
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(controls))
    return controls


def analyze_all(jobs: Sequence[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    """Raw model outputs for every render: cached ones read back, the rest computed by
    ``workers`` processes (each loads its own models; fork-free, TensorFlow dislikes fork)."""
    todo = [j for j in jobs if not _raw_cache(j).is_file()]
    if todo:
        print(f"listen: listening to {len(todo)} renders with {workers} worker(s)", flush=True)
        if workers == 1:
            for job in todo:
                _analyze_and_cache(job)
        else:
            context = multiprocessing.get_context("spawn")
            with context.Pool(workers) as pool:
                for _ in pool.imap_unordered(_analyze_and_cache, todo):
                    pass
    return [dict(json.loads(_raw_cache(j).read_text())) for j in jobs]


def _raw_cache(job: dict[str, Any]) -> Path:
    return Path(job["dir"]) / f"listen-v{RAW_VERSION}.json"


_WORKER_LISTENERS = _LazyListeners()


def _analyze_and_cache(job: dict[str, Any]) -> None:
    raw = analyze(job, _WORKER_LISTENERS)
    _raw_cache(job).write_text(json.dumps(raw))
    print(
        f"  listened to {job['genre']}: {job['prompt']!r} in {raw['seconds']} s "
        f"({raw['cpu_seconds']} s CPU)",
        flush=True,
    )


def analyze(job: dict[str, Any], listeners: Any) -> dict[str, Any]:
    """The models' raw outputs for one render: tags (MSD and MTT) and notes of the mix, key
    and tempo of the mix, MTT tags and notes of each soloed stem, and the written notes."""
    import models

    folder = Path(job["dir"])
    started, cpu_started = time.perf_counter(), time.process_time()
    plan = json.loads((folder / "plan.json").read_text())
    mix, sr = models.load_mono(folder / "mix.wav")
    key_label, key_p = listeners.madmom.key(mix, sr)
    raw: dict[str, Any] = {
        "job": job,
        "plan": {k: plan.get(k) for k in ("genre", "key", "bpm", "time_signature", "parts")},
        "mix": {
            "msd": listeners.msd.tag(mix, sr),
            "mtt": listeners.mtt.tag(mix, sr),
            "notes": listeners.pitch.transcribe(mix, sr),
        },
        "key": {"label": key_label, "p": key_p},
        "tempo": listeners.madmom.tempo(mix, sr),
        "reference": reference_notes(folder / "score.mid", plan),
        "stems": {},
    }
    for path in sorted((folder / "stems").glob("*.wav")):
        audio, stem_sr = models.load_mono(path)
        rms_db = 20 * np.log10(np.sqrt(np.mean(audio.astype(np.float64) ** 2)) + 1e-12)
        if rms_db < -70:  # a stem that stays silent in this arrangement
            continue
        # Instruments are MTT's vocabulary (MSD has only "guitar"); one tagger saves time.
        stem: dict[str, Any] = {"rms_db": float(rms_db), "mtt": listeners.mtt.tag(audio, stem_sr)}
        if path.stem != "drums":
            stem["notes"] = listeners.pitch.transcribe(audio, stem_sr)
        raw["stems"][path.stem] = stem
    raw["seconds"] = round(time.perf_counter() - started, 1)
    raw["cpu_seconds"] = round(time.process_time() - cpu_started, 1)
    return raw


def reference_notes(path: Path, plan: dict[str, Any]) -> dict[str, list[list[float]]]:
    """Written tonal notes per stem from ``score.mid`` (tracks are named by part role)."""
    import pretty_midi

    stem_of = {p["role"]: p["stem"] for p in plan.get("parts", [])}
    out: dict[str, list[list[float]]] = defaultdict(list)
    for instrument in pretty_midi.PrettyMIDI(str(path)).instruments:
        if instrument.is_drum:
            continue
        stem = stem_of.get(instrument.name, instrument.name)
        out[stem].extend([n.start, n.end, n.pitch] for n in instrument.notes)
    return {stem: sorted(notes) for stem, notes in out.items()}


def spectrograms(jobs: Sequence[dict[str, Any]], folder: Path, which: str) -> list[Path]:
    """Log-mel spectrogram PNGs of the mixes (0–11 kHz), one per genre or one per render."""
    if which == "none":
        return []
    import librosa
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import models

    seen: set[str] = set()
    written = []
    folder.mkdir(parents=True, exist_ok=True)
    for job in jobs:
        if which == "first" and job["genre"] in seen:
            continue
        seen.add(job["genre"])
        png = folder / f"{job['genre']}-{job['seed']}.png"
        written.append(png)
        if png.is_file():
            continue
        audio, sr = models.load_mono(Path(job["dir"]) / "mix.wav")
        y = models.resample(audio, sr, 22_050)
        mel = librosa.feature.melspectrogram(y=y, sr=22_050, n_fft=2048, hop_length=512, n_mels=128)
        db = librosa.power_to_db(mel, ref=np.max, top_db=80)
        fig, ax = plt.subplots(figsize=(10, 3.5), dpi=100)
        duration = y.shape[0] / 22_050
        ax.imshow(db, origin="lower", aspect="auto", cmap="magma", extent=(0, duration, 0, 128))
        mel_hz = librosa.mel_frequencies(n_mels=128, fmax=11_025)
        ticks = [0, 32, 64, 96, 127]
        ax.set_yticks(ticks, [f"{mel_hz[t]:.0f}" for t in ticks])
        ax.set_xlabel("s")
        ax.set_ylabel("Hz (mel)")
        ax.set_title(f"{job['genre']}: {job['prompt']}", fontsize=9)
        fig.tight_layout()
        fig.savefig(png)
        plt.close(fig)
    return written


# --- judging ----------------------------------------------------------------------------------


def build_report(
    raws: Sequence[dict[str, Any]], controls: dict[str, dict[str, float]]
) -> dict[str, Any]:
    """Judge each render, then aggregate per genre and in total."""
    control_list = list(controls.values())
    renders = [judge_render(raw, control_list) for raw in raws]
    for render, raw in zip(renders, raws, strict=True):
        mine = judge.merged(raw["mix"]["msd"], raw["mix"]["mtt"])
        others = [
            judge.merged(o["mix"]["msd"], o["mix"]["mtt"])
            for o in raws
            if o["job"]["genre"] != raw["job"]["genre"]
        ]
        render["distinctive"] = [[t, round(d, 3)] for t, d in judge.contrast(mine, others)]
    genres: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for render in renders:
        genres[render["genre"]].append(render)
    return {
        "controls": {name: judge.top_tags(tags, 8) for name, tags in controls.items()},
        "renders": renders,
        "genres": {g: summarize(rs, raws) for g, rs in genres.items()},
        "voices": summarize_voices(renders),
        "totals": totals(renders),
        "raw": list(raws),
    }


def judge_render(raw: dict[str, Any], controls: list[dict[str, float]]) -> dict[str, Any]:
    plan, mix = raw["plan"], raw["mix"]
    genre = raw["job"]["genre"]
    voices: dict[str, list[str]] = defaultdict(list)
    for part in plan.get("parts") or []:
        voices[part["stem"]].append(part["voice"])
    stems = {}
    mix_notes = [tuple(n) for n in mix["notes"]]
    for name, stem in raw["stems"].items():
        families = sorted({judge.voice_family(v) for v in voices.get(name, [])}) or ["unknown"]
        entry: dict[str, Any] = {
            "voices": voices.get(name, []),
            "families": families,
            "heard_as_family": judge.family_heard(families, {}, stem["mtt"], controls),
            "mtt_top": judge.top_tags(stem["mtt"], 3),
        }
        reference = [tuple(n) for n in raw["reference"].get(name, [])]
        if "notes" in stem and reference:
            entry["notes"] = _score_dict(
                judge.note_score(reference, [tuple(n) for n in stem["notes"]])
            )
        if reference:
            # The same written notes looked for in the whole mix: what the other stems hide.
            entry["in_mix"] = _score_dict(judge.note_score(reference, mix_notes))
        stems[name] = entry
    all_ref = judge.merge_unisons(
        sorted(tuple(n) for notes in raw["reference"].values() for n in notes)
    )
    tempo = raw["tempo"][0][0] if raw["tempo"] else float("nan")
    relation = judge.key_relation(plan["key"], raw["key"]["label"])
    return {
        "genre": genre,
        "prompt": raw["job"]["prompt"],
        "seed": raw["job"]["seed"],
        "plan_genre": plan.get("genre"),
        "msd_top": judge.top_tags(mix["msd"]),
        "mtt_top": judge.top_tags(mix["mtt"]),
        "counted": sorted(judge.counted_tags(mix["msd"], mix["mtt"], controls)),
        "genre_heard": judge.genre_heard(genre, mix["msd"], mix["mtt"], controls),
        # The same rule on the raw top-5, without the controls: what an uncalibrated reading says.
        "genre_heard_raw": judge.genre_heard(genre, mix["msd"], mix["mtt"], []),
        "stems": stems,
        "mix_notes": _score_dict(judge.note_score(all_ref, mix_notes)),
        "mix_errors": judge.note_errors(all_ref, mix_notes),
        "key_written": plan["key"],
        "key_heard": raw["key"]["label"],
        "key_relation": relation,
        "key_minor": judge.parent(judge.parse_key(plan["key"])[1]) == "minor",
        "bpm_written": plan["bpm"],
        "bpm_heard": round(tempo, 1),
        "tempo_relation": judge.tempo_relation(plan["bpm"], tempo) if tempo == tempo else "none",
    }


def _score_dict(score: judge.NoteScore) -> dict[str, Any]:
    return {
        "f1": round(score.f1, 3),
        "precision": round(score.precision, 3),
        "recall": round(score.recall, 3),
        "chroma_f1": round(score.chroma_f1, 3),
        "median_lag_ms": None if score.median_lag_ms is None else round(score.median_lag_ms, 1),
        "n_ref": score.n_ref,
        "n_est": score.n_est,
        "n_matched": round(score.recall * score.n_ref),  # unrounded recall: exact
    }


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 3) if values else None


def _mean_tags(dicts: Sequence[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([d[k] for d in dicts])) for k in dicts[0]}


def summarize(renders: Sequence[dict[str, Any]], raws: Sequence[dict[str, Any]]) -> dict[str, Any]:
    genre = renders[0]["genre"]
    mine = [r for r in raws if r["job"]["genre"] == genre]
    msd = _mean_tags([r["mix"]["msd"] for r in mine])
    mtt = _mean_tags([r["mix"]["mtt"] for r in mine])
    heard = [r["genre_heard"] for r in renders if r["genre_heard"] is not None]
    heard_raw = [r["genre_heard_raw"] for r in renders if r["genre_heard_raw"] is not None]
    stems: dict[str, list[Any]] = defaultdict(list)
    f1: dict[str, list[float]] = defaultdict(list)
    mix_scores: dict[str, list[float]] = defaultdict(list)  # where the mix's F1 is lost
    errors: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    in_mix: dict[str, list[float]] = defaultdict(list)  # each stem's recall in the mix
    for render in renders:
        for name, stem in render["stems"].items():
            stems[name].append(stem)
            if "notes" in stem:
                f1[name].append(stem["notes"]["f1"])
            if "in_mix" in stem:
                in_mix[name].append(stem["in_mix"]["recall"])
        f1["mix"].append(render["mix_notes"]["f1"])
        for name in ("precision", "recall", "n_ref", "n_est", "n_matched"):
            mix_scores[name].append(render["mix_notes"][name])
        for kind, buckets in render.get("mix_errors", {}).items():
            for bucket, count in buckets.items():
                errors[kind][bucket].append(count)
    distinctive: dict[str, float] = defaultdict(float)
    for render in renders:
        for tag, diff in render["distinctive"]:
            distinctive[tag] += diff / len(renders)
    return {
        "renders": len(renders),
        "msd_top": judge.top_tags(msd),
        "mtt_top": judge.top_tags(mtt),
        "distinctive": sorted(distinctive, key=lambda t: -distinctive[t])[:3],
        "heard": [sum(heard), len(heard)],
        "heard_raw": [sum(heard_raw), len(heard_raw)],
        "stems": {
            name: {
                "voices": sorted({v for s in entries for v in s["voices"]}),
                "heard": [
                    sum(1 for s in entries if s["heard_as_family"]),
                    sum(1 for s in entries if s["heard_as_family"] is not None),
                ],
                "mtt_top": judge.top_tags(_tally([t for s in entries for t in s["mtt_top"]]), 3),
            }
            for name, entries in stems.items()
        },
        "f1": {name: _mean(values) for name, values in f1.items()},
        "mix_notes": {name: _mean(values) for name, values in mix_scores.items()},
        "mix_errors": {
            kind: {bucket: _mean(counts) for bucket, counts in buckets.items()}
            for kind, buckets in errors.items()
        },
        "stem_recall_in_mix": {name: _mean(values) for name, values in in_mix.items()},
        "key": [sum(r["key_relation"] == "exact" for r in renders), len(renders)],
        "key_relations": [r["key_relation"] for r in renders],
        "tempo": [sum(r["tempo_relation"] == "exact" for r in renders), len(renders)],
        "tempo_relations": [r["tempo_relation"] for r in renders],
    }


def _tally(items: Sequence[str]) -> dict[str, float]:
    counts: dict[str, float] = defaultdict(float)
    for i, item in enumerate(items):
        counts[item] += 1 + 1e-6 * (len(items) - i)  # ties: first seen first
    return counts


def summarize_voices(renders: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per voice: how often its soloed stem is heard as its family, and what it is heard as."""
    by_voice: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for render in renders:
        for stem in render["stems"].values():
            if len(stem["voices"]) == 1:
                by_voice[stem["voices"][0]].append(stem)
    out = {}
    for voice, stems in sorted(by_voice.items()):
        judged = [s for s in stems if s["heard_as_family"] is not None]
        scored = [s["notes"] for s in stems if "notes" in s]
        lead = [notes["f1"] for notes in scored]
        lags = [
            s["notes"]["median_lag_ms"]
            for s in stems
            if s.get("notes", {}).get("median_lag_ms") is not None
        ]
        out[voice] = {
            "family": judge.voice_family(voice),
            "heard": [sum(1 for s in judged if s["heard_as_family"]), len(judged)],
            "mtt_top": judge.top_tags(_tally([t for s in stems for t in s["mtt_top"]]), 3),
            "f1": _mean(lead),
            "chroma_f1": _mean([notes["chroma_f1"] for notes in scored]),
            # Where the F1 is lost: extra detected notes (precision) or written ones missed.
            "precision": _mean([notes["precision"] for notes in scored]),
            "recall": _mean([notes["recall"] for notes in scored]),
            "written": _mean([notes["n_ref"] for notes in scored]),
            "detected": _mean([notes["n_est"] for notes in scored]),
            "median_lag_ms": _mean(lags),
        }
    return out


def totals(renders: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The issue's "Done means" figures over all renders."""
    heard = [r["genre_heard"] for r in renders if r["genre_heard"] is not None]
    heard_raw = [r["genre_heard_raw"] for r in renders if r["genre_heard_raw"] is not None]
    stems = [s["heard_as_family"] for r in renders for s in r["stems"].values()]
    stems_judged = [s for s in stems if s is not None]
    lead = [
        r["stems"]["lead"]["notes"]["f1"] for r in renders if "notes" in r["stems"].get("lead", {})
    ]
    minor = [r for r in renders if r["key_minor"]]

    def pct(hits: int, n: int) -> float | None:
        return round(100 * hits / n, 1) if n else None

    return {
        "genre_heard_pct": pct(sum(heard), len(heard)),
        "genre_heard_raw_pct": pct(sum(heard_raw), len(heard_raw)),
        "stem_family_pct": pct(sum(stems_judged), len(stems_judged)),
        "stems_judged": len(stems_judged),
        "lead_f1": _mean(lead),
        "mix_f1": _mean([r["mix_notes"]["f1"] for r in renders]),
        "key_pct": pct(sum(r["key_relation"] == "exact" for r in renders), len(renders)),
        "minor_modal_key_pct": pct(sum(r["key_relation"] == "exact" for r in minor), len(minor)),
        "minor_modal_renders": len(minor),
        "exact_tempo_pct": pct(sum(r["tempo_relation"] == "exact" for r in renders), len(renders)),
        "renders": len(renders),
    }


# --- markdown ---------------------------------------------------------------------------------

TARGETS = (
    ("genre heard (tags above the controls)", "genre_heard_pct", "≥ 90 %"),
    ("genre heard, raw top-5 (uncalibrated, for reference)", "genre_heard_raw_pct", "–"),
    ("stem heard as its family", "stem_family_pct", "≥ 80 %"),
    ("lead onset F1", "lead_f1", "≥ 0.85"),
    ("mix onset F1", "mix_f1", "≥ 0.70"),
    ("key (tonic + major/minor parent)", "key_pct", "≥ 85 %"),
    ("key, minor and modal renders", "minor_modal_key_pct", "≥ 80 %"),
    ("exact tempo (not half/double)", "exact_tempo_pct", "≥ 95 %"),
)


def _frac(pair: Sequence[int]) -> str:
    return f"{pair[0]}/{pair[1]}" if pair[1] else "–"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _count(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _shown(key: str, value: float | None) -> str:
    return "–" if value is None else (f"{value:.2f}" if "f1" in key else f"{value:.1f} %")


def render_markdown(report: dict[str, Any], baseline: dict[str, Any] | None = None) -> str:
    """The criteria, per-genre and per-voice tables; with ``baseline`` (an earlier results
    JSON), the criteria table shows its figures beside these ("before / after")."""
    t = report["totals"]
    if baseline is None:
        lines = ["| criterion | target | measured |", "| --- | --- | --- |"]
    else:
        before = baseline.get("run", {}).get("git", "baseline")
        lines = [
            f"| criterion | target | before ({before}) | after |",
            "| --- | --- | --- | --- |",
        ]
    for label, key, target in TARGETS:
        shown = _shown(key, t[key])
        if baseline is not None:
            shown = f"{_shown(key, baseline['totals'].get(key))} | {shown}"
        lines.append(f"| {label} | {target} | {shown} |")
    lines += [
        "",
        "| genre | MSD top-3 | MTT top-3 | most above other genres | heard (raw) | stems heard "
        "(family) | lead F1 | mix F1 (precision/recall) | key | tempo |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for genre, g in report["genres"].items():
        stems = ", ".join(
            f"{name} {_frac(s['heard'])}" for name, s in g["stems"].items() if s["heard"][1]
        )
        misses = [k for k in g["key_relations"] if k != "exact"]
        tempo_misses = [k for k in g["tempo_relations"] if k != "exact"]
        lines.append(
            f"| {genre} | {', '.join(g['msd_top'][:3])} | {', '.join(g['mtt_top'][:3])} | "
            f"{', '.join(g['distinctive'])} | {_frac(g['heard'])} ({_frac(g['heard_raw'])}) | "
            f"{stems or '–'} | "
            f"{_num(g['f1'].get('lead'))} | {_num(g['f1'].get('mix'))} "
            f"({_num(g.get('mix_notes', {}).get('precision'))}/"
            f"{_num(g.get('mix_notes', {}).get('recall'))}) | "
            f"{_frac(g['key'])}{' (' + ', '.join(misses) + ')' if misses else ''} | "
            f"{_frac(g['tempo'])}{' (' + ', '.join(tempo_misses) + ')' if tempo_misses else ''} |"
        )
    lines += _mix_error_table(report["genres"])
    lines += [
        "",
        "| voice | family | heard as family | soloed stem heard as (MTT) | onset F1 | "
        "precision | recall | notes written → detected | pitch-class F1 | onset lag ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for voice, v in report["voices"].items():
        lag = v["median_lag_ms"]
        lines.append(
            f"| {voice} | {v['family']} | {_frac(v['heard'])} | {', '.join(v['mtt_top'])} | "
            f"{_num(v['f1'])} | {_num(v.get('precision'))} | {_num(v.get('recall'))} | "
            f"{_count(v.get('written'))} → {_count(v.get('detected'))} | "
            f"{_num(v['chroma_f1'])} | {'–' if lag is None else f'{lag:+.0f}'} |"
        )
    run = report.get("run", {})
    controls = "; ".join(f"{k}: {', '.join(v[:4])}" for k, v in report["controls"].items())
    lines += [
        "",
        f"Controls (tags counted only above these): {controls}.",
        f"{t['renders']} renders ({t['minor_modal_renders']} minor/modal), "
        f"{t['stems_judged']} judged stems; tree {run.get('git', '?')} "
        f"({str(run.get('tree_hash', ''))[:12]}), {run.get('duration_s', '?')} s each; "
        f"render {run.get('render_seconds', '?')} s, listen {run.get('analysis_seconds', '?')} s.",
    ]
    for failure in run.get("failed", []):
        lines.append(f"FAILED to render {failure['prompt']!r}: {failure['error']}")
    return "\n".join(lines) + "\n"


def _mix_error_table(genres: dict[str, Any]) -> list[str]:
    """Per genre, where the mix's notes go (mean per render): wrong notes heard, written
    notes missed (``judge.note_errors`` buckets), and each stem's written notes found in
    the mix."""
    lines = [
        "",
        "| genre | notes written → heard (matched) | wrong: timing / re-strike / harmonic / "
        "other | missed: timing / merged / octave / unheard | stem recall in the mix |",
        "| --- | --- | --- | --- | --- |",
    ]
    for genre, g in genres.items():
        errors = g.get("mix_errors")
        if not errors:
            continue
        notes = g["mix_notes"]
        wrong = " / ".join(_count(errors["wrong"].get(b)) for b in judge.WRONG_NOTES)
        missed = " / ".join(_count(errors["missed"].get(b)) for b in judge.MISSED_NOTES)
        recall = ", ".join(
            f"{name} {_num(value)}" for name, value in g.get("stem_recall_in_mix", {}).items()
        )
        lines.append(
            f"| {genre} | {_count(notes.get('n_ref'))} → {_count(notes.get('n_est'))} "
            f"({_count(notes.get('n_matched'))}) | {wrong} | {missed} | {recall or '–'} |"
        )
    return lines


def render_details(report: dict[str, Any]) -> str:
    """One block per render: what each model heard, for reading beside the spectrograms."""
    lines = ["## Renders", ""]
    for r in report["renders"]:
        heard = {True: "heard", False: "NOT heard", None: "not judged"}[r["genre_heard"]]
        lines += [
            f"### {r['genre']}: {r['prompt']} (seed {r['seed']}) — {heard}",
            f"- MSD: {', '.join(r['msd_top'])}; MTT: {', '.join(r['mtt_top'])}",
            f"- counted above controls: {', '.join(r['counted']) or '–'}; most above other "
            f"genres: {', '.join(t for t, _ in r['distinctive'])}",
            f"- key {r['key_written']} → {r['key_heard']} ({r['key_relation']}); tempo "
            f"{r['bpm_written']} → {r['bpm_heard']} ({r['tempo_relation']}); mix onset F1 "
            f"{r['mix_notes']['f1']:.2f}",
        ]
        for name, stem in r["stems"].items():
            notes = stem.get("notes")
            f1 = (
                f", onset F1 {notes['f1']:.2f} (pitch class {notes['chroma_f1']:.2f}, "
                f"lag {notes['median_lag_ms']} ms)"
                if notes
                else ""
            )
            verdict = {True: "as family", False: "NOT as family", None: "not judged"}
            lines.append(
                f"- {name} ({'+'.join(stem['voices']) or '?'}, {'/'.join(stem['families'])}): "
                f"{', '.join(stem['mtt_top'])} — {verdict[stem['heard_as_family']]}{f1}"
            )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
