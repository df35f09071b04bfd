"""Refresh rounds: every slice once, never more calls at once than allowed."""

from __future__ import annotations

import asyncio

import pytest
from tests.conftest import BrokerFactory, SimFactory

from broker import inventory as inventory_module
from broker.api.context import INVENTORY
from broker.jobs.kinds import Observed, Target


class Counter:
    """A stand-in listing that counts calls and how many overlap."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.running = 0
        self.peak = 0

    async def __call__(self, target: Target) -> list[Observed]:
        self.calls.append((target.provider.name, target.client_uuid, target.kind))
        self.running += 1
        self.peak = max(self.peak, self.running)
        await asyncio.sleep(0.005)
        self.running -= 1
        return []


async def test_round_lists_every_slice_within_the_concurrency_bound(
    sim_factory: SimFactory,
    broker_factory: BrokerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each provider, tenant and served kind is listed once, at most N at a time."""
    a, b = await sim_factory("sim-a"), await sim_factory("sim-b")
    broker = await broker_factory(
        [a, b], inventory={"refresh_interval_s": 3600, "concurrency": 3}
    )
    book = broker.client.app[INVENTORY]
    await book.settle()
    counter = Counter()
    monkeypatch.setattr(inventory_module, "listing", counter)

    await book.refresh_all()

    assert len(counter.calls) == len(set(counter.calls)) == 2 * 3 * 8
    assert counter.peak == 3


async def test_targeted_refreshes_of_one_slice_are_merged(
    sim_factory: SimFactory,
    broker_factory: BrokerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Many jobs touching one slice at once cause one refresh, not one each."""
    sim = await sim_factory("sim-a")
    broker = await broker_factory([sim], inventory={"refresh_interval_s": 3600})
    book = broker.client.app[INVENTORY]
    await book.settle()
    counter = Counter()
    monkeypatch.setattr(inventory_module, "listing", counter)

    for _ in range(50):
        book.touched("sim-a", "acme", "vm")
    await book.settle()

    assert len(counter.calls) == 1


async def test_touching_an_unknown_provider_or_tenant_calls_nobody(
    sim_factory: SimFactory,
    broker_factory: BrokerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A targeted refresh for a provider or tenant no longer configured is dropped."""
    sim = await sim_factory("sim-a")
    broker = await broker_factory([sim], inventory={"refresh_interval_s": 3600})
    book = broker.client.app[INVENTORY]
    await book.settle()
    counter = Counter()
    monkeypatch.setattr(inventory_module, "listing", counter)

    book.touched("gone", "acme", "vm")
    book.touched("sim-a", "nobody", "vm")
    await book.settle()

    assert counter.calls == []
    assert await book.refresh("sim-a", "acme", "vm")
    assert not await book.refresh("sim-a", "acme", "teleporter")


async def test_ejected_provider_is_not_called_and_is_stale(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Once health ejects a provider, rounds record it as failed without a call."""
    sim = await sim_factory("sim-a")
    broker = await broker_factory([sim], inventory={"refresh_interval_s": 3600})
    book = broker.client.app[INVENTORY]
    await book.settle()
    sim.faults.error_rate = 1.0
    for _ in range(5):
        assert not await book.refresh("sim-a", "acme", "vm")
    sim.calls.clear()

    await book.refresh_all()

    assert sim.calls == []
    assert book.stale_providers() == ["sim-a"]
    records = await book.store.refresh_records()
    assert {r.error for r in records if r.slice.tenant == "globex"} == {
        "Not asked: the provider is ejected for now."
    }
