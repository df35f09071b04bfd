"""A first pass through the broker: place, create, show and delete a VM."""

from __future__ import annotations

from tests.conftest import BrokerFactory, SimFactory


async def test_vm_lifecycle(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A VM is placed on the cheapest provider, created, shown and deleted."""
    cheap = await sim_factory("sim-cheap", price_core_hour=0.01)
    dear = await sim_factory("sim-dear", price_core_hour=0.05, dialect="reference")
    broker = await broker_factory([cheap, dear])

    status, placed = await broker.call(
        "POST",
        "/v1/placements",
        json={
            "kind": "vm",
            "spec": {"name": "web-1", "cpu": {"cores": 2}, "memory_mib": 2048},
        },
    )
    assert status == 200, placed
    assert [c["provider"] for c in placed["candidates"]] == ["sim-cheap", "sim-dear"]

    status, vm = await broker.call(
        "POST",
        "/v1/vms?wait=5",
        json={"name": "web-1", "cpu": {"cores": 2}, "memory_mib": 2048},
    )
    assert status == 201, vm
    assert vm["provider"] == "sim-cheap"
    assert vm["status"] == "active"
    assert len(cheap.vms("5e96afa52c1a53348adc5c5663978058")) == 1

    status, deleting = await broker.call("DELETE", f"/v1/vms/{vm['id']}")
    assert status == 202, deleting
