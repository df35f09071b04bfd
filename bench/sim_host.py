"""A child process that hosts simulated providers for a benchmark.

Starts ``--count`` simulators on free ports of 127.0.0.1, writes one JSON
line to stdout naming each one and its URLs, then serves until its stdin
closes or it receives SIGTERM. Running them here keeps their work off the
broker's event loop and out of the bench's own process.

    .venv/bin/python -m bench.sim_host --count 100 --latency 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import stat
import sys

from broker.sim import Faults, SimConfig, Simulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--prefix", default="sim")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--async-delay", type=float, default=0.0)
    parser.add_argument("--cores", type=int, default=64)
    parser.add_argument("--memory-mib", type=int, default=262144)
    parser.add_argument("--seed", type=int, default=0)
    return parser


async def _start(args: argparse.Namespace) -> list[Simulator]:
    sims = []
    for index in range(args.count):
        config = SimConfig(
            name=f"{args.prefix}-{index:03d}",
            cores=args.cores,
            memory_mib=args.memory_mib,
            async_delay_s=args.async_delay,
            seed=args.seed + index,
        )
        sim = Simulator(config)
        sim.faults = Faults(latency_s=args.latency, error_rate=args.error_rate)
        sims.append(sim)
        await sim.start(
            host="127.0.0.1", compute_port=0, storage_port=0, services_port=0
        )
    return sims


async def until_told_to_stop() -> None:
    """Return on SIGTERM/SIGINT, or when the parent closes our stdin (a pipe)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waits = [asyncio.ensure_future(stop.wait())]
    if stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
        )
        waits.append(asyncio.ensure_future(reader.read()))
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in waits:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def main() -> None:
    args = _parser().parse_args()
    sims = await _start(args)
    try:
        listing = [{"name": s.config.name, "urls": s.urls} for s in sims]
        print(json.dumps({"simulators": listing}), flush=True)
        await until_told_to_stop()
    finally:
        for sim in sims:
            await sim.stop()


if __name__ == "__main__":
    asyncio.run(main())
