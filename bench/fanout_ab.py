"""Same-run A/B of the WebSocket fan-out between two source trees, for a noisy machine.

Each round starts a fresh fan-out server (one worker) from each tree (``--a`` and ``--b``:
directories put first on the server's ``PYTHONPATH``), in alternating order, and runs
``service_bench.fan_out`` against it: ``--sockets`` subscribers held by ``--clients``
processes watch one job from its start to its end. Unless ``--no-pin``, each API process
runs on the first CPU and the clients on the second (the worker, started before the pin,
may use both), as ``status_ab.py`` does. Prints, per tree, the median over rounds of each
run's p50 and p99 (event ``ts`` → client receive time), the medians of the first and last
socket's delay per event, and the API's CPU time per event per 1,000 sockets (less
sensitive to other load than wall time): "live" counts the events before the final one
only, the other figure also the closing of every socket; "above idle" takes off the API's
CPU rate measured for 1 s with every socket connected and no event (its checks each second,
the event pump), times the live phase's length.

    python bench/fanout_ab.py --a ../main/src --b src --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import psutil
from service_bench import fan_out, percentile, server


def _summary(fan: dict[str, Any]) -> dict[str, float]:
    lat = fan["latencies_ms"]
    events = max(1, fan["events_per_socket"])
    per_1000 = 1000 * 1000 / fan["sockets"]  # s → ms, per 1,000 sockets
    return {
        "p50": statistics.median(lat),
        "p99": percentile(lat, 99),
        "first": statistics.median(fan["first_ms"]),
        "last": statistics.median(fan["last_ms"]),
        "cpu": fan["server_cpu_s"] / events * per_1000,
        "live cpu": fan["server_cpu_to_final_s"] / max(1, events - 1) * per_1000,
        "live cpu above idle": fan["server_cpu_to_final_above_idle_s"]
        / max(1, events - 1)
        * per_1000,
        "complete": fan["sockets_in_order_to_the_end"],
        "closes": fan["normal_closes"],
    }


def run_one(root: Path, name: str, tree: str, args: argparse.Namespace) -> dict[str, float]:
    cpus = sorted(os.sched_getaffinity(0))
    env = {"MUSEWAVE_CONCURRENCY": "1", "PYTHONPATH": str(Path(tree).resolve())}
    with server(root, name, **env) as srv:
        pin = args.pin and len(cpus) > 1
        if pin:
            psutil.Process(srv.process.pid).cpu_affinity([cpus[0]])
            os.sched_setaffinity(0, {cpus[1]})  # the client processes are spawned after
        try:
            return _summary(asyncio.run(fan_out(srv, args.sockets, args.clients)))
        finally:
            os.sched_setaffinity(0, set(cpus))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--a", required=True, help="source tree A (e.g. the base branch's src)")
    parser.add_argument("--b", required=True, help="source tree B")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin")
    args = parser.parse_args()

    trees = {"A": args.a, "B": args.b}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="musewave-fanout-ab-") as tmp:
        for round_ in range(args.rounds):
            order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
            for name in order:
                result = run_one(Path(tmp), f"{name}{round_}", trees[name], args)
                runs[name].append(result)
                cells = ", ".join(f"{key} {value:.1f}" for key, value in result.items())
                print(f"round {round_} {name}: {cells}", flush=True)

    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\nfan-out to {args.sockets} sockets, {args.rounds} rounds (medians over rounds)")
    print(f"load average {load}\n")
    print(
        "| tree | p50 ms | p99 ms | first / last socket per event ms "
        "| API CPU per event per 1,000 sockets ms: live above idle / live / with the closes "
        "| p99 per round ms |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for name, tree_runs in runs.items():

        def median(key: str, tree_runs: list[dict[str, float]] = tree_runs) -> float:
            return statistics.median(run[key] for run in tree_runs)

        p99s = ", ".join(f"{run['p99']:.0f}" for run in tree_runs)
        print(
            f"| {name}: {trees[name]} | {median('p50'):.1f} | {median('p99'):.1f} "
            f"| {median('first'):.1f} / {median('last'):.1f} "
            f"| {median('live cpu above idle'):.1f} / {median('live cpu'):.1f} "
            f"/ {median('cpu'):.1f} | {p99s} |"
        )


if __name__ == "__main__":
    main()
