"""Placement fan-out: how long a placement takes when every provider is slow.

Every simulated provider takes 200 ms to answer. A placement asks them all
at once, so it should take about 200 ms whatever their number. For each
count the simulators run together in one child process, the broker in
another (``python -m broker serve``), and this process times a few
sequential ``POST /v1/placements`` over one keep-alive connection.

The broker's inventory makes its first round (which also calls every
provider) before the timing starts, and no other round comes during it.
The first placement is shown on its own, then the median and 90th
percentile of the next ``--runs``: wall time seen here, and the
``elapsed_ms`` the broker reports, both as multiples of 200 ms. The CPU
time the broker and the simulators' process spent per placement says
where the time above 200 ms goes.

Before the broker starts, a bare aiohttp client in a process of its own
(:mod:`bench.bare_fanout`) asks the same simulators the same question the
same way, with nothing else around it: its median is the floor on this
machine, and ``wall/bare`` is the broker's placement over that floor.

    .venv/bin/python -m bench.placement_bench [--counts 1,10,30,100] [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import (
    BENCH_KEY,
    Api,
    Child,
    LoadMeter,
    SimInfo,
    broker,
    cpu_seconds,
    percentile,
    simulators,
)

QUOTE_S = 0.2
SPEC = {"kind": "vm", "spec": {"name": "bench", "cpu": {"cores": 1}, "memory_mib": 512}}
BROKER_SECTIONS: dict[str, Any] = {
    "placement": {"fanout_timeout_s": 3},
    "inventory": {"refresh_interval_s": 3600, "concurrency": 64},
}


@dataclass
class Figures:
    """One provider count's timings, in seconds."""

    count: int
    first_wall: float
    walls: list[float]
    inside: list[float]
    broker_cpu: float
    sims_cpu: float
    others_cores: float
    bare: list[float]


def place(api: Api, count: int) -> tuple[float, float]:
    """One placement: its wall time here and the broker's elapsed time, seconds."""
    started = time.perf_counter()
    reply = api.call("POST", "/v1/placements", SPEC)
    wall = time.perf_counter() - started
    if reply.status != 200 or len(reply.body["candidates"]) != count:
        raise RuntimeError(f"expected {count} candidates: {reply.status} {reply.body}")
    return wall, reply.body["elapsed_ms"] / 1000


def bare_fanout(sims: list[SimInfo], runs: int) -> list[float]:
    """Wall times of the same quotes asked by a bare aiohttp client, seconds."""
    command = [sys.executable, "-m", "bench.bare_fanout", f"--runs={runs}"]
    command.append(f"--spec={json.dumps(SPEC['spec'])}")
    urls = json.dumps([s.urls["compute"] for s in sims]) + "\n"
    done = subprocess.run(
        command, input=urls, capture_output=True, text=True, timeout=120, check=True
    )
    walls: list[float] = json.loads(done.stdout)["walls"]
    return walls


def measure(count: int, runs: int) -> Figures:
    """Time the bare client's rounds, then ``runs`` + 1 placements by the broker."""
    with (
        tempfile.TemporaryDirectory() as folder,
        simulators(Path(folder), count, latency=QUOTE_S) as (sims_child, sims),
    ):
        bare = bare_fanout(sims, runs)
        return _measure_broker(Path(folder), sims_child, sims, runs, bare)


def _measure_broker(
    folder: Path, sims_child: Child, sims: list[SimInfo], runs: int, bare: list[float]
) -> Figures:
    count = len(sims)
    with broker(folder, sims, admin=False, **BROKER_SECTIONS) as running:
        running.wait_for_log("inventory round ended", timeout_s=120)
        api = Api(running.url, BENCH_KEY)
        first_wall, _ = place(api, count)
        cpu_before = cpu_seconds(running.child.pid), cpu_seconds(sims_child.pid)
        meter = LoadMeter(running.child, sims_child)
        walls, inside = [], []
        for _ in range(runs):
            wall, elapsed = place(api, count)
            walls.append(wall)
            inside.append(elapsed)
        broker_cpu = cpu_seconds(running.child.pid) - cpu_before[0]
        sims_cpu = cpu_seconds(sims_child.pid) - cpu_before[1]
        others = meter.others_cores()
        api.close()
    return Figures(
        count,
        first_wall,
        walls,
        inside,
        broker_cpu / runs,
        sims_cpu / runs,
        others,
        bare,
    )


def report(figures: Figures) -> str:
    """One table row: times as multiples of 200 ms, CPU in ms per placement."""

    def x(seconds: float) -> str:
        return f"{seconds / QUOTE_S:.3f}"

    walls, inside = figures.walls, figures.inside
    bare = statistics.median(figures.bare)
    return (
        f"{figures.count:>9} {x(bare):>8} {x(figures.first_wall):>7}"
        f" {x(statistics.median(walls)):>8} {x(percentile(walls, 90)):>7}"
        f" {x(statistics.median(inside)):>10} {x(percentile(inside, 90)):>9}"
        f" {figures.broker_cpu * 1000:>10.1f} {figures.sims_cpu * 1000:>8.1f}"
        f" {figures.others_cores:>6.2f} {statistics.median(walls) / bare:>10.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,10,30,100")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    print(
        f"placement fan-out, each provider answering in {QUOTE_S * 1000:.0f} ms;"
        f" times as multiples of {QUOTE_S * 1000:.0f} ms over {args.runs} runs"
        " (first run shown apart); CPU in ms per placement; others: cores used"
        " by other processes meanwhile"
    )
    print(
        f"{'providers':>9} {'bare_p50':>8} {'first':>7} {'wall_p50':>8} {'wall_p90':>7}"
        f" {'broker_p50':>10} {'broker_p90':>9} {'broker_cpu':>10} {'sims_cpu':>8}"
        f" {'others':>6} {'wall/bare':>10}"
    )
    for count in (int(c) for c in args.counts.split(",")):
        print(report(measure(count, args.runs)), flush=True)


if __name__ == "__main__":
    main()
