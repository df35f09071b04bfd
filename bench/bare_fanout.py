"""A child process that asks many simulators for a quote at once, and nothing else.

The floor the broker's placement is compared with: the same ``canallocate``
body the broker sends (built with its own models), the same headers, one
shared aiohttp session, every provider asked at once with ``gather``; no
API, no store, no ranking, no logging. Reads the simulators' compute URLs
as one JSON list on stdin, warms every connection once, then times
``--runs`` rounds and writes their wall times, in seconds, as one JSON line.

    .venv/bin/python -m bench.bare_fanout --runs 9 < urls.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

import aiohttp

from bench.procs import CLIENT_UUID
from broker.c4.compute import canallocate_body
from broker.specs import VmCreate, vm_requirements

HEADERS = {
    "Content-Type": "application/json",
    "service-country": "eu-west",
    "service_country": "eu-west",
}


async def _round(session: aiohttp.ClientSession, urls: list[str], body: bytes) -> float:
    async def ask(url: str) -> None:
        async with session.get(
            f"{url}/api/v1.0/canallocate", data=body, headers=HEADERS
        ) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}")

    started = time.perf_counter()
    await asyncio.gather(*(ask(url) for url in urls))
    return time.perf_counter() - started


async def _main(runs: int, spec: dict[str, object]) -> list[float]:
    urls = json.loads(sys.stdin.readline())
    requirements = vm_requirements(VmCreate.model_validate(spec))
    body = canallocate_body(requirements, CLIENT_UUID).data
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await _round(session, urls, body)
        return [await _round(session, urls, body) for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--spec", required=True, help="the VM body, as JSON")
    args = parser.parse_args()
    walls = asyncio.run(_main(args.runs, json.loads(args.spec)))
    print(json.dumps({"walls": walls}), flush=True)


if __name__ == "__main__":
    main()
