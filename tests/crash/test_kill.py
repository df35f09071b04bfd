"""A real ``c4broker serve`` killed with SIGKILL at each risky point, then restarted.

Every scenario ends with the job finished and exactly one VM on the
simulators (none for the delete): nothing lost, nothing doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.conftest import (
    ACME_UUID,
    TENANT_KEY,
    SimFactory,
    broker_config,
    provider_entry,
)

from broker.sim import Simulator

VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}
AUTH = {"Authorization": f"Bearer {TENANT_KEY}"}

pytestmark = pytest.mark.timeout(60)


class BrokerProcess:
    """One ``c4broker serve`` subprocess on a fixed configuration."""

    def __init__(
        self, config: Path, port: int, extra_args: list[str] | None = None
    ) -> None:
        self.config = config
        self.extra_args = extra_args or []
        self.auth = dict(AUTH)
        self.url = f"http://127.0.0.1:{port}"
        self.process: asyncio.subprocess.Process | None = None
        self.log: list[str] = []
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the broker and return once it listens."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "broker",
            *self.extra_args,
            "serve",
            "--config",
            str(self.config),
            stderr=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            env={**os.environ, "C4BROKER_LOG_LEVEL": "INFO"},
        )
        assert self.process.stderr is not None
        while True:
            line = (await self.process.stderr.readline()).decode()
            if not line:
                raise AssertionError("broker exited:\n" + "".join(self.log))
            self.log.append(line)
            if "broker listening" in line:
                break
        self._drain = asyncio.create_task(self._read_rest())

    async def _read_rest(self) -> None:
        assert self.process is not None
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.log.append(line.decode())

    async def kill(self) -> None:
        """SIGKILL: no cleanup, no lease given back."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        if self._drain is not None:
            await self._drain

    async def stop(self) -> None:
        """SIGTERM and wait for a graceful exit."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 20)
        if self._drain is not None:
            await self._drain

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession(headers=self.auth) as session,
            session.request(method, self.url + path, **kwargs) as resp,
        ):
            return resp.status, await resp.json(content_type=None)

    async def text(self, path: str) -> str:
        async with (
            aiohttp.ClientSession() as session,
            session.get(self.url + path) as resp,
        ):
            return await resp.text()

    async def settle(self, job_href: str, within_s: float = 30) -> dict[str, Any]:
        """The job once it has ended (the broker's wait is per process)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + within_s
        while loop.time() < end:
            status, job = await self.call("GET", job_href)
            if status == 200 and job["status"] in ("succeeded", "failed"):
                return job
            await asyncio.sleep(0.1)
        raise AssertionError("job did not end:\n" + "".join(self.log[-30:]))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def running_broker(
    tmp_path: Path, sims: list[Simulator]
) -> AsyncIterator[BrokerProcess]:
    port = free_port()
    path = broker_config(
        tmp_path,
        [provider_entry(s, timeout_s=1) for s in sims],
        listen={"host": "127.0.0.1", "port": port},
        jobs={
            "lease_s": 1.0,
            "poll_initial_s": 0.05,
            "poll_max_s": 0.2,
            "max_duration_s": 20,
        },
    )
    broker = BrokerProcess(path, port)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def vms(*sims: Simulator) -> list[dict[str, Any]]:
    return [vm for sim in sims for vm in sim.vms(ACME_UUID)]


async def test_kill_after_accepting_before_placement(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """Killed while placement waits for quotes: the restart places and creates once."""
    sim = await sim_factory()
    sim.faults.delay["canallocate"] = 3.0
    async with running_broker(tmp_path, [sim]) as broker:
        status, created = await broker.call("POST", "/v1/vms", json=VM)
        assert status == 202
        await sim.wait_for_call("/canallocate")
        await broker.kill()
        sim.faults.delay.clear()

        await broker.start()
        job = await broker.settle(created["job"]["href"])
    assert job["status"] == "succeeded", job
    assert len(vms(sim)) == 1


async def test_kill_while_register_is_in_flight(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """Killed while register runs (the VM gets made): the restart adopts it."""
    sim = await sim_factory()
    sim.faults.delay_answer["register"] = 3.0
    async with running_broker(tmp_path, [sim]) as broker:
        _, created = await broker.call("POST", "/v1/vms", json=VM)
        await sim.wait_for_call("/register")
        await broker.kill()
        sim.faults.delay_answer.clear()

        await broker.start()
        job = await broker.settle(created["job"]["href"])
        _, resource = await broker.call("GET", f"/v1/vms/{created['id']}")
    assert job["status"] == "succeeded", job
    assert len(vms(sim)) == 1
    assert job["attempts"][-1]["detail"] == "Adopted after a lost answer."
    assert resource["provider_id"] == vms(sim)[0]["uniqueID"]


async def test_kill_before_register_reaches_the_provider(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """Killed while register is held before it acts: the restart creates once."""
    sim = await sim_factory()
    sim.faults.delay["register"] = 3.0
    async with running_broker(tmp_path, [sim]) as broker:
        _, created = await broker.call("POST", "/v1/vms", json=VM)
        await sim.wait_for_call("/register")
        await broker.kill()
        sim.faults.delay.clear()
        await broker.start()
        job = await broker.settle(created["job"]["href"])
    assert job["status"] == "succeeded", job
    assert len(vms(sim)) == 1


async def test_kill_after_the_providers_202_before_it_is_recorded(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """Killed while an asynchronous register's 202 is on its way: no second VM."""
    sim = await sim_factory(async_delay_s=0.5)
    sim.faults.delay_answer["register"] = 3.0
    async with running_broker(tmp_path, [sim]) as broker:
        _, created = await broker.call("POST", "/v1/vms", json=VM)
        await sim.wait_for_call("/register")
        await broker.kill()
        sim.faults.delay_answer.clear()
        await broker.start()
        job = await broker.settle(created["job"]["href"])
    assert job["status"] == "succeeded", job
    assert len(vms(sim)) == 1


async def test_kill_while_polling(sim_factory: SimFactory, tmp_path: Path) -> None:
    """Killed while following a poolingURL: the restart resumes the poll."""
    sim = await sim_factory(dialect="reference", async_delay_s=2.0)
    async with running_broker(tmp_path, [sim]) as broker:
        _, created = await broker.call("POST", "/v1/vms", json=VM)
        await sim.wait_for_call("/register")
        polled = next(iter(sim.vms(ACME_UUID)))["uniqueID"]
        await sim.wait_for_call(f"/running/{polled}")
        await broker.kill()
        await broker.start()
        job = await broker.settle(created["job"]["href"])
    assert job["status"] == "succeeded", job
    assert len(vms(sim)) == 1
    assert sum(1 for _, p in sim.calls if p.endswith("/register")) == 1


async def test_kill_while_a_delete_is_in_flight(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """Killed while unregister runs: the restart confirms the delete; no VM is left."""
    sim = await sim_factory()
    async with running_broker(tmp_path, [sim]) as broker:
        status, created = await broker.call("POST", "/v1/vms?wait=10", json=VM)
        assert status == 201
        sim.faults.delay_answer["unregister"] = 3.0
        _, deleting = await broker.call("DELETE", f"/v1/vms/{created['id']}")
        await sim.wait_for_call("/unregister")
        await broker.kill()
        sim.faults.delay_answer.clear()
        await broker.start()
        job = await broker.settle(deleting["job"]["href"])
        _, resource = await broker.call("GET", f"/v1/vms/{created['id']}")
    assert job["status"] == "succeeded", job
    assert resource["status"] == "deleted"
    assert vms(sim) == []


async def test_kill_while_a_delete_waits_for_its_create(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """Killed with a delete waiting on a create in flight: both end, no VM is left."""
    sim = await sim_factory()
    sim.faults.delay_answer["register"] = 3.0
    async with running_broker(tmp_path, [sim]) as broker:
        _, created = await broker.call("POST", "/v1/vms", json=VM)
        await sim.wait_for_call("/register")
        status, deleting = await broker.call("DELETE", f"/v1/vms/{created['id']}")
        assert status == 202
        await broker.kill()
        sim.faults.delay_answer.clear()
        await broker.start()
        create = await broker.settle(created["job"]["href"])
        delete = await broker.settle(deleting["job"]["href"])
        _, resource = await broker.call("GET", f"/v1/vms/{created['id']}")
    assert create["status"] == "succeeded", create
    assert delete["status"] == "succeeded", delete
    assert resource["status"] == "deleted"
    assert vms(sim) == []
