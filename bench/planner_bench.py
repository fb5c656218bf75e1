"""What the LLM planner costs per plan, and how often it falls back under a mix of failures.

Both providers' real clients (``google-genai``, ``openai``) talk to the loopback stand-in the
tests use (tests/planning/standins.py), which answers at once: the figures are MuseWave's own
overhead per plan (building the request, the SDK, HTTP on loopback, reading, checking and
repairing the draft), not a model's thinking time, which a real deployment adds on top.

(a) Latency: ``--plans`` plans per provider through :class:`~musewave.planning.Planner` with
    the cache off, each a different seed; the rule-based planner on the same requests for
    reference. Median and 95th percentile, milliseconds.
(b) Failure mix: ``--plans`` plans per provider whose answers are drawn (seeded) from a mix of
    good drafts, drafts that need repair, malformed JSON, schema violations, 429s, 500s and
    hangs past the timeout, through a breaker that 3 failures open (as in production), with
    plans arriving every ``--interval-s`` and the breaker open for ``--reset-s`` (production:
    60 s; the ratio, plans per open window, is what sets the breaker's share of fallbacks).
    Prints where the plans came from (model, fallback by reason) and the fallback rate.

    PYTHONPATH=src python bench/planner_bench.py [--plans 200] [--timeout-s 0.3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' stand-in, reused

from musewave.engine.plan import make_plan
from musewave.engine.request import GenerationRequest
from musewave.planning import Planner
from musewave.resilience import Breaker, BreakerConfig
from tests.planning.conftest import GOOD_DRAFT, make_client
from tests.planning.standins import ModelStandIn, Reply

PROVIDERS = ("gemini", "openai-compatible")
REPAIR_DRAFT = {
    **GOOD_DRAFT,
    "bpm": 240,
    "key": "d-flat Major",
    "sections": [{"kind": "Pre-Chorus", "bars": 3, "energy": 1.5}],
    "instruments": [{"role": "lead", "instrument": "kazoo"}],
}
# Share of each kind of answer in the failure mix (they add up to 1).
MIX: list[tuple[str, Reply, float]] = [
    ("good", Reply.plan(GOOD_DRAFT), 0.55),
    ("needs repair", Reply.plan(REPAIR_DRAFT), 0.15),
    ("malformed JSON", Reply("text", '{"genre": "house", '), 0.06),
    ("schema violation", Reply.plan({"genre": "house", "bpm": "fast"}), 0.06),
    ("429", Reply("status", 429), 0.06),
    ("500", Reply("status", 500), 0.06),
    ("hang", Reply("hang"), 0.06),
]


def request(seed: int) -> GenerationRequest:
    return GenerationRequest(prompt="neon harbor at midnight", duration_s=60, seed=seed)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(provider: str, stand_in: ModelStandIn, plans: int, timeout_s: float) -> list[float]:
    stand_in.answer(Reply.plan(GOOD_DRAFT))
    breaker = Breaker("llm", BreakerConfig(timeout_s, 3, 60.0))
    planner = Planner(make_client(provider, stand_in, timeout_s), breaker, cache=None)
    planner.plan(request(0))  # connection set up, modules warm
    times = []
    for seed in range(1, plans + 1):
        started = time.perf_counter()
        outcome = planner.plan(request(seed))
        times.append(time.perf_counter() - started)
        assert outcome.source == "llm", outcome.reason
    planner.close()
    return times


def failure_mix(
    provider: str,
    stand_in: ModelStandIn,
    plans: int,
    timeout_s: float,
    reset_s: float,
    interval_s: float,
) -> tuple[Counter[str], int]:
    rng = random.Random(20_261_207)
    kinds = [name for name, _, _ in MIX]
    weights = [share for _, _, share in MIX]
    replies = {name: reply for name, reply, _ in MIX}
    draws = rng.choices(kinds, weights, k=plans)
    breaker = Breaker("llm", BreakerConfig(timeout_s, 3, reset_s))
    planner = Planner(make_client(provider, stand_in, timeout_s), breaker, cache=None)
    sources: Counter[str] = Counter()
    calls_before = len(stand_in.seen)
    next_at = time.monotonic()
    for seed, kind in enumerate(draws):
        time.sleep(max(0.0, next_at - time.monotonic()))  # plans arrive on a schedule
        next_at += interval_s
        stand_in.answer(replies[kind])
        outcome = planner.plan(request(1000 + seed))
        label = "llm" if outcome.source == "llm" else f"fallback: {outcome.reason}"
        sources[label] += 1
    planner.close()
    return sources, len(stand_in.seen) - calls_before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", type=int, default=200)
    parser.add_argument("--timeout-s", type=float, default=0.3, help="per model call")
    parser.add_argument("--reset-s", type=float, default=1.0, help="breaker open time")
    parser.add_argument("--interval-s", type=float, default=0.1, help="between plans")
    args = parser.parse_args()

    rules = []
    for seed in range(1, args.plans + 1):
        started = time.perf_counter()
        make_plan(request(seed))
        rules.append(time.perf_counter() - started)

    print(f"## Plan latency ({args.plans} plans each, stand-in answering at once)\n")
    print("| planner | median ms | p95 ms |")
    print("|---|---|---|")
    print(
        f"| rules | {statistics.median(rules) * 1000:.2f} | {percentile(rules, 0.95) * 1000:.2f} |"
    )
    with ModelStandIn() as stand_in:
        for provider in PROVIDERS:
            times = latency(provider, stand_in, args.plans, 10.0)
            print(
                f"| llm:{provider} | {statistics.median(times) * 1000:.2f} "
                f"| {percentile(times, 0.95) * 1000:.2f} |"
            )

        mix = ", ".join(f"{name} {share:.0%}" for name, _, share in MIX)
        print(f"\n## Failure mix ({args.plans} plans each: {mix})\n")
        print(
            f"Breaker: 3 failures open it, {args.reset_s} s open; a plan every "
            f"{args.interval_s} s; model timeout {args.timeout_s} s. Answers that fail: "
            f"{sum(share for name, _, share in MIX if name not in ('good', 'needs repair')):.0%}."
            "\n"
        )
        print("| provider | from the model | fallback rate | model calls | fallbacks by reason |")
        print("|---|---|---|---|---|")
        for provider in PROVIDERS:
            sources, calls = failure_mix(
                provider, stand_in, args.plans, args.timeout_s, args.reset_s, args.interval_s
            )
            fallbacks = args.plans - sources["llm"]
            reasons = ", ".join(
                f"{label.removeprefix('fallback: ')} {count}"
                for label, count in sorted(sources.items())
                if label != "llm"
            )
            print(
                f"| {provider} | {sources['llm']} | {fallbacks / args.plans:.1%} | {calls} "
                f"| {reasons} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
