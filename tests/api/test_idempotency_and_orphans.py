"""Retried creates are answered once; what a failed create left behind is deleted."""

from __future__ import annotations

import asyncio
import time

from tests.api.test_jobs import settle
from tests.conftest import ACME_UUID, BrokerFactory, SimFactory

from broker.api.context import PURGER

VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}


async def test_same_key_and_body_replays_the_first_answer(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A retry with the same key and body gets the same resource, and no second VM."""
    sim = await sim_factory()
    broker = await broker_factory([sim])
    headers = {"Idempotency-Key": "order-42"}
    first = await broker.call("POST", "/v1/vms", json=VM, headers=headers)
    second = await broker.call("POST", "/v1/vms", json=VM, headers=headers)
    assert first[0] == second[0] == 202
    assert second[1]["id"] == first[1]["id"]
    await settle(broker, first[1]["job"]["href"])
    assert len(sim.vms(ACME_UUID)) == 1
    _, listing = await broker.call("GET", "/v1/vms")
    assert len(listing["items"]) == 1


async def test_replay_is_not_judged_again(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A retry after the VM's volume was deleted replays; it is not refused anew."""
    broker = await broker_factory([await sim_factory()])
    _, volume = await broker.call(
        "POST", "/v1/volumes?wait=5", json={"name": "data", "size_gib": 1}
    )
    body = {**VM, "volumes": [volume["id"]]}
    headers = {"Idempotency-Key": "order-44"}
    status, first = await broker.call(
        "POST", "/v1/vms?wait=5", json=body, headers=headers
    )
    assert status == 201
    _, deleting = await broker.call("DELETE", f"/v1/volumes/{volume['id']}")
    assert (await settle(broker, deleting["job"]["href"]))["status"] == "succeeded"

    status, again = await broker.call("POST", "/v1/vms", json=body, headers=headers)

    assert status == 201
    assert again["id"] == first["id"]


async def test_same_key_with_another_body_is_422(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Reusing a key for a different request is refused."""
    broker = await broker_factory([await sim_factory()])
    headers = {"Idempotency-Key": "order-43"}
    await broker.call("POST", "/v1/vms", json=VM, headers=headers)
    status, problem = await broker.call(
        "POST", "/v1/vms", json={**VM, "name": "web-2"}, headers=headers
    )
    assert status == 422
    assert problem["type"] == "/docs#problem-idempotency-key-reused"


async def test_concurrent_retry_while_accepting_is_409(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A retry that arrives while the first is still being accepted gets 409."""
    sim = await sim_factory()
    sim.faults.latency_s = 0.5
    broker = await broker_factory([sim])
    headers = {"Idempotency-Key": "order-44"}
    first = asyncio.create_task(
        broker.call("POST", "/v1/vms?wait=5", json=VM, headers=headers)
    )
    await sim.wait_for_call("/canallocate")
    status, problem = await broker.call(
        "POST", "/v1/vms?wait=5", json=VM, headers=headers
    )
    assert status == 409
    assert problem["type"] == "/docs#problem-idempotency-key-in-use"
    assert (await first)[0] == 201

    replay = await broker.call("POST", "/v1/vms?wait=5", json=VM, headers=headers)
    assert replay[0] == 201
    assert replay[1]["id"] == (await first)[1]["id"]


async def test_keys_are_purged_after_a_day(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A key is kept for a day; after the purge the same key makes a new resource."""
    broker = await broker_factory([await sim_factory()])
    headers = {"Idempotency-Key": "order-45"}
    _, first = await broker.call("POST", "/v1/vms", json=VM, headers=headers)
    purger = broker.client.app[PURGER]

    assert await purger.purge(now=time.time() + 23 * 3600) == 0
    _, replay = await broker.call("POST", "/v1/vms", json=VM, headers=headers)
    assert replay["id"] == first["id"]

    assert await purger.purge(now=time.time() + 24 * 3600 + 1) == 1
    _, fresh = await broker.call("POST", "/v1/vms", json=VM, headers=headers)
    assert fresh["id"] != first["id"]


async def test_orphan_of_a_failed_register_is_found_and_deleted(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """register answers 500 after making the VM: the broker deletes that orphan."""
    liar = await sim_factory("liar", price_core_hour=0.001)
    liar.faults.create_then_fail.add("register")
    honest = await sim_factory("honest", price_core_hour=0.05)
    broker = await broker_factory([liar, honest])

    _, created = await broker.call("POST", "/v1/vms", json=VM)
    job = await settle(broker, created["job"]["href"])

    assert job["status"] == "succeeded", job
    assert liar.vms(ACME_UUID) == []
    assert len(honest.vms(ACME_UUID)) == 1
    outcomes = [(a["provider"], a["outcome"]) for a in job["attempts"]]
    assert outcomes == [("liar", "fault"), ("honest", "succeeded"), ("liar", "cleaned")]
    assert job["attempts"][-1]["detail"] == "Deleted 1 leftover resource(s)."


async def test_orphan_cleanup_retries_until_the_provider_answers(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Cleanup that meets a failing provider retries with back-off until it works."""
    liar = await sim_factory("liar", price_core_hour=0.001)
    liar.faults.create_then_fail.add("register")
    liar.faults.fail_next["running"] = 503
    honest = await sim_factory("honest", price_core_hour=0.05)
    broker = await broker_factory([liar, honest])

    _, created = await broker.call("POST", "/v1/vms", json=VM)
    job = await settle(broker, created["job"]["href"])

    assert job["status"] == "succeeded", job
    assert liar.vms(ACME_UUID) == []
    listings = [p for _, p in liar.calls if p.endswith("/running")]
    assert len(listings) >= 3
