"""One SQLite file under load: no locking errors, no lost or doubled work."""

from __future__ import annotations

import asyncio
import logging

import pytest
from tests.api.test_jobs import settle_long
from tests.conftest import ACME_UUID, BrokerFactory, SimFactory

VM = {"name": "web", "cpu": {"cores": 1}, "memory_mib": 256}


async def test_200_concurrent_creates_with_5_workers(
    sim_factory: SimFactory,
    broker_factory: BrokerFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """200 creates at once, 5 workers, one database: all succeed, nothing locks."""
    caplog.set_level(logging.WARNING)
    sim = await sim_factory(cores=1000, memory_mib=10**7)
    broker = await broker_factory([sim], jobs={"workers": 5})

    answers = await asyncio.gather(
        *(
            broker.call("POST", "/v1/vms", json={**VM, "name": f"vm-{i}"})
            for i in range(200)
        )
    )
    assert {status for status, _ in answers} == {202}
    jobs = [await settle_long(broker, body["job"]["href"]) for _, body in answers]

    assert {job["status"] for job in jobs} == {"succeeded"}
    assert len(sim.vms(ACME_UUID)) == 200
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert problems == []
    assert not any("locked" in r.getMessage() for r in caplog.records)
