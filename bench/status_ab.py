"""Same-run A/B of ``GET /v1/jobs/{id}`` between two source trees, for a noisy machine.

Starts one idle server from each tree (``--a`` and ``--b``: directories put first on the
server's ``PYTHONPATH``), both on the first CPU, the load clients on the second, and gives
them the same open-loop load by turns, ``--rounds`` times, so that other load on the machine
falls on both alike. Prints, per tree, the median over rounds of each round's p50 and p99,
the achieved rate and the API's CPU time per request.

    python bench/status_ab.py --a ../main/src --b src --rate 1000 --rounds 6
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import multiprocessing
import os
import statistics
import tempfile
from pathlib import Path

import httpx
import psutil
from service_bench import (
    TERMINAL,
    TRACK,
    Run,
    Server,
    _client_ready,
    _wait_event,
    percentile,
    server,
    status_from_processes,
)

IDLE = {"MUSEWAVE_CONCURRENCY": "1", "MUSEWAVE_RATE_LIMIT_PER_S": "0.001"}


async def job_paths(srv: Server, jobs: int = 20) -> list[str]:
    """Submit ``jobs`` jobs; the first (the only one the idle server starts) is awaited."""
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as client:
        ids = [
            (await client.post("/v1/generations", json={"prompt": f"ab {i}", **TRACK})).json()["id"]
            for i in range(jobs)
        ]
    await _wait_event(srv, ids[0], lambda e: e["type"] in TERMINAL, 120)
    return [f"/v1/jobs/{job_id}" for job_id in ids]


async def compare(servers: dict[str, Server], args: argparse.Namespace) -> dict[str, list[Run]]:
    paths = {name: await job_paths(srv) for name, srv in servers.items()}
    runs: dict[str, list[Run]] = {name: [] for name in servers}
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(args.clients, mp_context=spawn) as pool:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(pool, _client_ready) for _ in range(2)))
        for round_ in range(args.rounds):
            order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for name in order:
                run = await status_from_processes(
                    pool, args.clients, servers[name], paths[name], args.seconds, rate=args.rate
                )
                runs[name].append(run)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--a", required=True, help="source tree A (e.g. the base branch's src)")
    parser.add_argument("--b", required=True, help="source tree B")
    parser.add_argument("--rate", type=float, default=1000.0, help="GET /v1/jobs/{id} per s")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each turn")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--clients", type=int, default=2, help="load client processes")
    args = parser.parse_args()

    cpus = sorted(os.sched_getaffinity(0))
    trees = {"A": args.a, "B": args.b}
    with tempfile.TemporaryDirectory(prefix="musewave-ab-") as tmp, contextlib.ExitStack() as stack:
        servers = {
            name: stack.enter_context(
                server(Path(tmp), name, PYTHONPATH=str(Path(tree).resolve()), **IDLE)
            )
            for name, tree in trees.items()
        }
        if len(cpus) > 1:  # the APIs share the first CPU, the clients get the other
            for srv in servers.values():
                psutil.Process(srv.process.pid).cpu_affinity([cpus[0]])
            os.sched_setaffinity(0, {cpus[1]})
        runs = asyncio.run(compare(servers, args))

    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\nGET /v1/jobs/{{id}} at {args.rate:g}/s, {args.rounds} turns of {args.seconds:g} s")
    print(f"each (medians over turns); load average {load}\n")
    print("| tree | achieved/s | p50 ms | p99 ms | API CPU per request ms | p99 per turn ms |")
    print("|---|---:|---:|---:|---:|---|")
    for name, tree_runs in runs.items():

        def median(values: list[float]) -> float:
            return statistics.median(values)

        p99s = [percentile(run.latencies_ms, 99) for run in tree_runs]
        cpu_ms = [1000 * (run.server_cpu_s or 0.0) / max(1, run.ok) for run in tree_runs]
        print(
            f"| {name}: {trees[name]} | {median([r.throughput for r in tree_runs]):.0f} "
            f"| {median([statistics.median(r.latencies_ms) for r in tree_runs]):.1f} "
            f"| {median(p99s):.1f} | {median(cpu_ms):.2f} "
            f"| {', '.join(f'{p:.0f}' for p in p99s)} |"
        )


if __name__ == "__main__":
    main()
