"""The inventory through the API: discovery, matching, missing, staleness, summary."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tests.conftest import ACME_UUID, GLOBEX_UUID, Broker, BrokerFactory, SimFactory

from broker.api.context import INVENTORY
from broker.inventory import Inventory
from broker.sim import Simulator

VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 1024}
QUIET = {"refresh_interval_s": 3600}


def book(broker: Broker) -> Inventory:
    """The broker's inventory, to trigger and await refreshes."""
    return broker.client.app[INVENTORY]


async def started(broker_factory: BrokerFactory, sims: list[Simulator]) -> Broker:
    """A broker whose first round is over, and whose next is an hour away."""
    broker = await broker_factory(sims, inventory=QUIET)
    await book(broker).settle()
    return broker


async def listed(broker: Broker, who: str = "ops", query: str = "") -> Any:
    """The inventory's first page as a tenant sees it."""
    status, page = await broker.call("GET", f"/v1/inventory{query}", who=who)
    assert status == 200, page
    return page


async def create_vm(broker: Broker, who: str = "acme", **body: Any) -> Any:
    """A VM made through the broker and waited for."""
    status, vm = await broker.call("POST", "/v1/vms?wait=5", who=who, json=VM | body)
    assert status == 201, vm
    await book(broker).settle()
    return vm


async def test_vm_made_on_a_provider_is_discovered_for_its_tenant_only(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A VM created directly on a provider shows up as discovered, for its owner."""
    sim = await sim_factory("sim-a")
    broker = await started(broker_factory, [sim])
    provider_id = sim.add_vm(ACME_UUID, "hand-made")

    await book(broker).refresh_all()

    [item] = (await listed(broker, "acme"))["items"]
    assert (item["origin"], item["status"], item["kind"]) == (
        "discovered",
        "active",
        "vm",
    )
    assert (item["tenant"], item["provider"]) == ("acme", "sim-a")
    assert (item["name"], item["provider_id"]) == ("hand-made", provider_id)
    assert item["observed_at"] is not None
    assert item["price"]["currency"] == "EUR"
    assert (await listed(broker, "globex"))["items"] == []
    assert [i["id"] for i in (await listed(broker, "ops"))["items"]] == [item["id"]]


async def test_broker_made_vm_is_listed_once(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A VM the broker created is matched to its record, never discovered again."""
    sim = await sim_factory("sim-a")
    broker = await started(broker_factory, [sim])
    vm = await create_vm(broker)

    await book(broker).refresh_all()
    await book(broker).refresh_all()

    items = (await listed(broker))["items"]
    assert [(i["id"], i["origin"], i["status"]) for i in items] == [
        (vm["id"], "broker", "active")
    ]
    assert items[0]["observed_at"] >= vm["observed_at"]


async def test_vm_removed_on_the_provider_becomes_missing_at_the_second_refresh(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """One refresh without the VM leaves it active; the second marks it missing."""
    sim = await sim_factory("sim-a")
    broker = await started(broker_factory, [sim])
    vm = await create_vm(broker)
    sim.remove_vm(vm["provider_id"])

    await book(broker).refresh_all()
    assert (await listed(broker))["items"][0]["status"] == "active"

    await book(broker).refresh_all()
    [item] = (await listed(broker))["items"]
    assert (item["id"], item["status"]) == (vm["id"], "missing")
    missing = await listed(broker, query="?status=missing")
    assert [i["id"] for i in missing["items"]] == [vm["id"]]


async def test_failing_provider_is_stale_and_keeps_its_last_view(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Failed refreshes mark nothing missing; the provider is named stale."""
    sim = await sim_factory("sim-a")
    broker = await started(broker_factory, [sim])
    vm = await create_vm(broker)
    await book(broker).refresh_all()
    before = (await listed(broker))["items"]
    sim.remove_vm(vm["provider_id"])
    sim.faults.error_rate = 1.0

    await book(broker).refresh_all()
    await book(broker).refresh_all()

    page = await listed(broker)
    assert page["stale_providers"] == ["sim-a"]
    assert page["items"] == before
    assert (await listed(broker, "acme"))["stale_providers"] == ["sim-a"]

    sim.faults.error_rate = 0.0
    await book(broker).refresh_all()
    page = await listed(broker)
    assert page["stale_providers"] == []
    assert page["items"][0]["status"] == "active"


async def test_dead_provider_costs_one_call_per_round(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """After a fault, a round records the provider's other listings as failed."""
    sim = await sim_factory("sim-a")
    broker = await started(broker_factory, [sim])
    sim.faults.error_rate = 1.0
    sim.calls.clear()

    await book(broker).refresh_all()

    assert len(sim.calls) == 1
    assert (await listed(broker))["stale_providers"] == ["sim-a"]


async def test_old_refresh_makes_a_provider_stale(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A last good refresh older than twice the interval makes a provider stale."""
    sim = await sim_factory("sim-a")
    broker = await started(broker_factory, [sim])
    inventory = book(broker)
    assert (await listed(broker))["stale_providers"] == []

    inventory.clock = lambda: time.time() + 1.9 * inventory.interval_s
    assert (await listed(broker))["stale_providers"] == []
    inventory.clock = lambda: time.time() + 2.1 * inventory.interval_s
    assert (await listed(broker))["stale_providers"] == ["sim-a"]


async def test_targeted_refresh_shows_a_change_without_waiting(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A job that touched a provider refreshes it at once, not at the interval."""
    sim = await sim_factory("sim-a")
    broker = await started(broker_factory, [sim])
    sim.add_vm(ACME_UUID, "made-meanwhile")
    assert (await listed(broker))["items"] == []

    vm = await create_vm(broker)

    items = (await listed(broker))["items"]
    names = sorted((i["name"], i["origin"]) for i in items)
    assert names == [("made-meanwhile", "discovered"), ("web-1", "broker")]
    assert vm["id"] in {i["id"] for i in items}


async def test_summary_counts_and_costs_add_up(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """The summary counts active resources by provider and kind, and sums costs."""
    a = await sim_factory("sim-a", price_core_hour=0.01)
    b = await sim_factory("sim-b", price_core_hour=0.05)
    broker = await started(broker_factory, [a, b])
    await create_vm(broker, name="one")
    await create_vm(broker, name="two", placement={"providers": ["sim-b"]})
    await create_vm(broker, who="globex", name="three")
    a.add_vm(GLOBEX_UUID, "outside", cores=2)
    await book(broker).refresh_all()

    items = (await listed(broker))["items"]
    status, totals = await broker.call("GET", "/v1/inventory/summary", who="ops")

    assert status == 200, totals
    assert totals["by_kind"] == {"vm": 4}
    assert totals["by_provider"] == {"sim-a": {"vm": 3}, "sim-b": {"vm": 1}}
    cost = sum(i["price"]["monthly"] for i in items)
    assert totals["monthly_cost"] == {"EUR": pytest.approx(cost)}
    _, mine = await broker.call("GET", "/v1/inventory/summary", who="acme")
    assert mine["by_provider"] == {"sim-a": {"vm": 1}, "sim-b": {"vm": 1}}
    acme_cost = sum(i["price"]["monthly"] for i in items if i["tenant"] == "acme")
    assert mine["monthly_cost"] == {"EUR": pytest.approx(acme_cost)}


async def test_filters_and_cursor_walk_the_whole_inventory(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """kind, origin, provider and status filter; a cursor walks every item once."""
    sim = await sim_factory("sim-a")
    broker = await started(broker_factory, [sim])
    await create_vm(broker)
    status, _ = await broker.call(
        "POST", "/v1/volumes?wait=5", json={"name": "data", "size_gib": 1}
    )
    assert status == 201
    for name in ("x", "y", "z"):
        sim.add_vm(ACME_UUID, name)
    await book(broker).refresh_all()

    assert len((await listed(broker, query="?kind=volume"))["items"]) == 1
    assert len((await listed(broker, query="?origin=discovered"))["items"]) == 3
    assert len((await listed(broker, query="?provider=sim-a&kind=vm"))["items"]) == 4
    assert (await listed(broker, query="?provider=elsewhere"))["items"] == []
    assert len((await listed(broker, query="?status=active"))["items"]) == 5

    seen: list[str] = []
    query = "?limit=2"
    while True:
        page = await listed(broker, "acme", query)
        seen += [i["id"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        query = f"?limit=2&cursor={page['next_cursor']}"
    assert len(seen) == len(set(seen)) == 5


@pytest.mark.parametrize(
    ("who", "query", "status"),
    [
        ("acme", "?kind=disk", 400),
        ("acme", "?origin=elsewhere", 400),
        ("acme", "?limit=0", 400),
        ("acme", "?cursor=nonsense", 400),
        ("acme", "?tenant=globex", 403),
        ("acme", "?tenant=acme", 200),
        ("ops", "?tenant=globex", 200),
    ],
)
async def test_inventory_query_is_checked(
    broker_factory: BrokerFactory, who: str, query: str, status: int
) -> None:
    """Bad filters are 400; a tenant asking about another tenant is refused."""
    broker = await broker_factory([], inventory=QUIET)
    got, _ = await broker.call("GET", f"/v1/inventory{query}", who=who)
    assert got == status
