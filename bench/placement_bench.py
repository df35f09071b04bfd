"""Placement fan-out: how long a placement takes when every provider is slow.

Every simulated provider takes 200 ms to quote. A placement asks them all at
once, so it should take about 200 ms whatever their number. Prints, for
each count, the median time of ``POST /v1/placements`` over several runs as
a multiple of 200 ms.

    .venv/bin/python -m bench.placement_bench [--counts 1,10,30,100] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiohttp

from bench.common import KEY, broker, simulators

QUOTE_S = 0.2
SPEC = {"kind": "vm", "spec": {"name": "bench", "cpu": {"cores": 1}, "memory_mib": 512}}


async def measure(count: int, runs: int) -> tuple[float, float]:
    """Median wall time and median broker-reported time of one placement, seconds."""
    async with simulators(count) as sims:
        for sim in sims:
            sim.faults.latency_s = QUOTE_S
        async with broker(sims, placement={"fanout_timeout_s": 3}) as url:
            headers = {"Authorization": f"Bearer {KEY}"}
            async with aiohttp.ClientSession(headers=headers) as session:
                await place(session, url, count)
                walls, inside = [], []
                for _ in range(runs):
                    started = time.perf_counter()
                    answer = await place(session, url, count)
                    walls.append(time.perf_counter() - started)
                    inside.append(answer["elapsed_ms"] / 1000)
    return statistics.median(walls), statistics.median(inside)


async def place(
    session: aiohttp.ClientSession, url: str, count: int
) -> dict[str, object]:
    async with session.post(f"{url}/v1/placements", json=SPEC) as resp:
        answer: dict[str, object] = await resp.json()
    candidates = answer["candidates"]
    if not isinstance(candidates, list) or len(candidates) != count:
        raise RuntimeError(f"expected {count} candidates: {answer}")
    return answer


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,10,30,100")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"placement fan-out, each provider quoting in {QUOTE_S * 1000:.0f} ms")
    print(f"{'providers':>9} {'median_ms':>10} {'in_broker_ms':>13} {'x_200ms':>8}")
    for count in (int(c) for c in args.counts.split(",")):
        wall, inside = await measure(count, args.runs)
        ratio = wall / QUOTE_S
        print(f"{count:>9} {wall * 1000:>10.1f} {inside * 1000:>13.1f} {ratio:>8.3f}")


if __name__ == "__main__":
    asyncio.run(main())
