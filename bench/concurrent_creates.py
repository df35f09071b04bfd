"""200 concurrent creates on one SQLite file: how long until every job ended.

Starts one simulated provider and the broker with a given number of job
workers, sends all creates at once, then counts finished jobs until none is
left. Prints the time to accept them all, the time until the last job
ended, the job outcomes, and the number of locking errors seen in the logs.

    .venv/bin/python -m bench.concurrent_creates [--creates 200] [--workers 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

import aiohttp

from bench.common import ADMIN_KEY, KEY, broker, simulators

VM = {"cpu": {"cores": 1}, "memory_mib": 256}


class LockCounter(logging.Handler):
    """Counts log records that mention a locked database."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.locked = 0
        self.errors = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.locked += "locked" in record.getMessage()
        self.errors += record.levelno >= logging.ERROR


async def run(creates: int, workers: int, async_delay: float) -> None:
    counter = LockCounter()
    logging.getLogger().addHandler(counter)
    async with (
        simulators(
            1, cores=100_000, memory_mib=10**9, async_delay_s=async_delay
        ) as sims,
        broker(sims, jobs={"workers": workers, "poll_initial_s": 0.05}) as url,
        aiohttp.ClientSession() as session,
    ):
        tenant = {"Authorization": f"Bearer {KEY}"}
        started = time.perf_counter()
        statuses = await asyncio.gather(
            *(create(session, url, tenant, i) for i in range(creates))
        )
        accepted = time.perf_counter() - started
        outcome = await wait_for_jobs(session, url, creates)
        finished = time.perf_counter() - started
    print(
        f"creates: {creates}  workers: {workers}  provider async delay: {async_delay} s"
    )
    print(f"answers: {sorted(set(statuses))}")
    print(f"accepted all in: {accepted:.2f} s")
    print(f"all jobs ended in: {finished:.2f} s ({creates / finished:.1f} jobs/s)")
    print(f"job outcomes: {outcome}")
    print(f"locking errors logged: {counter.locked}  errors logged: {counter.errors}")


async def create(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], index: int
) -> int:
    body = {**VM, "name": f"vm-{index}"}
    async with session.post(f"{url}/v1/vms", json=body, headers=headers) as resp:
        await resp.read()
        return resp.status


async def wait_for_jobs(
    session: aiohttp.ClientSession, url: str, creates: int
) -> dict[str, int]:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    while True:
        counts = {}
        for status in ("succeeded", "failed"):
            query = f"{url}/v1/jobs?status={status}&limit=1000"
            async with session.get(query, headers=admin) as resp:
                counts[status] = len((await resp.json())["items"])
        if sum(counts.values()) >= creates:
            return counts
        await asyncio.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=200)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--async-delay", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(run(args.creates, args.workers, args.async_delay))


if __name__ == "__main__":
    main()
