"""Fixture factories for the C4 client's tests: simulators, a session, clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from broker.c4 import C4Client, CallObserver, VmRequirements
from broker.config import ProviderConfig
from broker.sim import SimConfig, Simulator

StartSim = Callable[..., Awaitable[Simulator]]
MakeClient = Callable[..., C4Client]


class Recorder:
    """A call observer that keeps every report."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, str, str, float]] = []

    def observe(
        self, provider: str, operation: str, outcome: str, elapsed_s: float
    ) -> None:
        """Keep one report."""
        self.reports.append((provider, operation, outcome, elapsed_s))

    def outcomes(self) -> list[tuple[str, str]]:
        """The (operation, outcome) pairs reported, in order."""
        return [(operation, outcome) for _, operation, outcome, _ in self.reports]


@pytest.fixture
def small_vm() -> VmRequirements:
    """A VM request every simulator can host."""
    return VmRequirements.model_validate(
        {"cpu": {"slots": 1}, "mem": {"capacity": 512}}
    )


@pytest.fixture
def huge_vm() -> VmRequirements:
    """A VM request no simulator can host."""
    return VmRequirements.model_validate(
        {"cpu": {"slots": 4096}, "mem": {"capacity": 512}}
    )


@pytest.fixture
def recorder() -> Recorder:
    """A call observer that keeps every report."""
    return Recorder()


@pytest.fixture
async def start_sim() -> AsyncIterator[StartSim]:
    """Start simulators on free ports with config overrides; stop them after."""
    started: list[Simulator] = []

    async def start(**overrides: Any) -> Simulator:
        sim = Simulator(SimConfig(**{"name": "sim-a", **overrides}))
        await sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        await sim.stop()


@pytest.fixture(params=["docs", "reference"])
def dialect(request: pytest.FixtureRequest) -> str:
    """Each C4 dialect in turn."""
    value: str = request.param
    return value


@pytest.fixture
async def sim(start_sim: StartSim, dialect: str) -> Simulator:
    """A simulator speaking the dialect of the test's parameter."""
    return await start_sim(dialect=dialect)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """The shared client session, closed after the test."""
    async with aiohttp.ClientSession() as shared:
        yield shared


@pytest.fixture
def make_client(session: aiohttp.ClientSession) -> MakeClient:
    """Build a C4 client for a simulator (or URLs) with registry overrides."""

    def make(
        sim: Simulator | None = None,
        *,
        observer: CallObserver | None = None,
        **overrides: Any,
    ) -> C4Client:
        entry: dict[str, Any] = {"name": "sim-a", "timeout_s": 5.0}
        if sim is not None:
            entry.update(sim.urls)
        entry.update(overrides)
        return C4Client(ProviderConfig(**entry), session, observer=observer)

    return make


@pytest.fixture
def client(make_client: MakeClient, sim: Simulator) -> C4Client:
    """A client for the test's simulator, dialect detected."""
    return make_client(sim)
