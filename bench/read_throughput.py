"""Read throughput: ``GET /v1/vms`` on the broker against a bare aiohttp server.

Creates ``--vms`` VMs for the bench tenant through the broker (on one
simulator), captures the broker's own answer to ``GET /v1/vms?limit=100``,
and starts a bare aiohttp server that answers every GET with those same
bytes. Each runs in its own process. wrk then loads each in turn with 16
connections on 2 threads for the same duration, in the order broker, bare,
bare, broker (``--rounds`` times), so that a drift of the machine weighs
on both alike. Prints each run, the median requests per second of each,
and their ratio broker/bare.

    .venv/bin/python -m bench.read_throughput [--vms 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench.procs import (
    BENCH_KEY,
    Api,
    LoadMeter,
    WrkResult,
    bare_server,
    broker,
    run_wrk,
    shipped_sections,
    simulators,
)

PATH = "/v1/vms?limit=100"
CONNECTIONS = 16
THREADS = 2
WARMUP_S = 2


def fill(api: Api, count: int) -> None:
    """Create ``count`` VMs and wait for each to be active."""
    for index in range(count):
        body = {"name": f"read-{index}", "cpu": {"cores": 1}, "memory_mib": 256}
        reply = api.call("POST", "/v1/vms?wait=10", body)
        if reply.status != 201:
            raise RuntimeError(f"create {index}: {reply.status} {reply.body}")


def load(url: str, seconds: float) -> WrkResult:
    """One wrk run against ``url`` + PATH with the bench tenant's key."""
    return run_wrk(
        url + PATH,
        script="throughput.lua",
        connections=CONNECTIONS,
        threads=THREADS,
        duration_s=seconds,
        headers=[f"Authorization: Bearer {BENCH_KEY}"],
    )


def describe(name: str, result: WrkResult) -> str:
    """One line about a run."""
    lat = result.latency_ms
    return (
        f"{name:<7} {result.rate:>9.0f} req/s  p50 {lat['p50']:.2f} ms"
        f"  p99 {lat['p99']:.2f} ms  non-2xx {result.non_2xx}"
        f"  socket errors {result.socket_errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        sections = shipped_sections()
        with (
            simulators(folder, 1, cores=1_000_000, memory_mib=10**9) as (_, sims),
            broker(folder, sims, **sections) as running,
        ):
            api = Api(running.url, BENCH_KEY)
            fill(api, args.vms)
            body = api.raw(PATH)
            api.close()
            print(
                f"GET {PATH}: {args.vms} VMs, {len(body)} bytes;"
                f" wrk -t{THREADS} -c{CONNECTIONS} -d{args.seconds:g}s each"
            )
            with bare_server(folder, body) as (bare, bare_url):
                targets = {"broker": running.url, "bare": bare_url}
                for url in targets.values():
                    load(url, WARMUP_S)
                meter = LoadMeter(running.child, bare)
                rates: dict[str, list[float]] = {"broker": [], "bare": []}
                for _ in range(args.rounds):
                    for which in ("broker", "bare", "bare", "broker"):
                        result = load(targets[which], args.seconds)
                        rates[which].append(result.rate)
                        print(describe(which, result), flush=True)
                others = meter.others_cores()
    broker_rate = statistics.median(rates["broker"])
    bare_rate = statistics.median(rates["bare"])
    print(f"median broker: {broker_rate:.0f} req/s, bare: {bare_rate:.0f} req/s")
    print(f"ratio broker/bare: {broker_rate / bare_rate:.3f} (target >= 0.5)")
    print(f"other processes used {others:.2f} cores on average meanwhile")


if __name__ == "__main__":
    main()
