"""Fixture factories for the simulator's tests: started simulators, a session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from broker.sim import SimConfig, Simulator

MakeSim = Callable[..., Awaitable[Simulator]]


@pytest.fixture
async def make_sim() -> AsyncIterator[MakeSim]:
    """Start simulators on free ports with config overrides; stop them after."""
    started: list[Simulator] = []

    async def factory(**overrides: Any) -> Simulator:
        config = SimConfig(**{"name": "sim-test", **overrides})
        sim = Simulator(config)
        await sim.start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        await sim.stop()


@pytest.fixture
async def sim(make_sim: MakeSim) -> Simulator:
    """A simulator in the documented dialect with default capacity."""
    return await make_sim()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session with a timeout, closed after the test."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        yield session


@pytest.fixture
def vm_request() -> Callable[..., dict[str, Any]]:
    """Build a ``register``/``canallocate`` body for a tenant."""

    def build(
        tenant: str = "tenant-a", cores: int = 2, memory_mib: int = 2048, **extra: Any
    ) -> dict[str, Any]:
        req = {
            "cpu": {"slots": cores, "arch": ["X86_64"], "flags": []},
            "mem": {"capacity": memory_mib, "requireECC": False},
            "pci": {"devices": {}},
            "misc": {"os_family": "linux", "os_flavour": "debian"},
        }
        return {"client_uuid": tenant, "vm_name": "web-1", "req": req, **extra}

    return build
