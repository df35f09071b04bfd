"""The compute operations against the simulator, in both dialects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from broker.c4 import C4Client, VmRequirements
from broker.c4.outcome import Accepted, Created, Offer, Pending, Ready, Refusal
from broker.errors import ProviderNotFound
from broker.sim import Simulator

StartSim = Callable[..., Awaitable[Simulator]]
MakeClient = Callable[..., C4Client]


async def test_ping_and_health(client: C4Client) -> None:
    """``GET /`` greets and ``/health`` reports UP."""
    assert await client.ping("compute") == "hello"
    assert (await client.health())["status"] == "UP"


async def test_status_is_text_and_statusjson_is_json(client: C4Client) -> None:
    """``status`` answers plain text, ``statusjson`` a JSON object."""
    assert isinstance(await client.status(), str)
    assert isinstance(await client.statusjson(), dict)


async def test_canallocate_offers_a_price(
    client: C4Client, small_vm: VmRequirements
) -> None:
    """A VM that fits is offered with a price in a currency."""
    quote = await client.canallocate(small_vm, client_uuid="t1")
    assert isinstance(quote, Offer)
    assert quote.price is not None
    assert quote.price.currency == "EUR"
    assert quote.price.hourly > 0


async def test_canallocate_refusal_is_an_answer(
    client: C4Client, huge_vm: VmRequirements
) -> None:
    """A VM that does not fit is refused (200 false or "Config is not available")."""
    quote = await client.canallocate(huge_vm, client_uuid="t1")
    assert isinstance(quote, Refusal)
    assert quote.detail == "Provider sim-a cannot host this request."


async def test_canallocate_sends_region_headers(
    client: C4Client, small_vm: VmRequirements
) -> None:
    """A region the provider lacks is refused: the region headers reach it."""
    assert isinstance(
        await client.canallocate(small_vm, client_uuid="t1", region="mars"), Refusal
    )


async def test_vm_lifecycle(
    client: C4Client, sim: Simulator, small_vm: VmRequirements
) -> None:
    """Register, list, show, stop, start, restart and unregister one VM."""
    created = await client.register(
        small_vm, client_uuid="t1", vm_name="web-1", volumes=[], authentication=None
    )
    assert isinstance(created, Created)
    vm_id = created.provider_id

    listed = await client.running("t1")
    assert [vm.unique_id for vm in listed] == [vm_id]
    assert listed[0].name == "web-1"
    assert (await client.vm_info(vm_id)).unique_id == vm_id
    for action in (client.stop, client.start, client.restart):
        await action(vm_id, client_uuid="t1")

    await client.unregister(vm_id, client_uuid="t1")
    assert sim.vms("t1") == []


async def test_running_204_is_empty(client: C4Client, sim: Simulator) -> None:
    """A tenant with no VM gets 204, read as an empty list."""
    assert await client.running("nobody") == []
    assert sim.calls[-1] == ("GET", "/api/v1.0/running")


async def test_unregister_unknown_vm_is_not_found(client: C4Client) -> None:
    """Deleting a VM the provider does not know raises ProviderNotFound."""
    with pytest.raises(ProviderNotFound):
        await client.unregister("0" * 32, client_uuid="t1")


async def test_vm_info_unknown_is_not_found(client: C4Client) -> None:
    """Showing a VM the provider does not know raises ProviderNotFound."""
    with pytest.raises(ProviderNotFound):
        await client.vm_info("0" * 32)


async def test_asynchronous_register_is_followed(
    start_sim: StartSim, make_client: MakeClient, dialect: str, small_vm: VmRequirements
) -> None:
    """With Async: true the VM is accepted, pending, then ready at its URL."""
    sim = await start_sim(dialect=dialect, async_delay_s=600.0)
    client = make_client(sim)
    accepted = await client.register(
        small_vm, client_uuid="t1", vm_name="w", volumes=[], authentication=None
    )
    assert isinstance(accepted, Accepted)
    assert accepted.poll_path == f"/api/v1.0/running/{accepted.provider_id}"

    pending = await client.poll("compute", accepted.poll_path)
    assert isinstance(pending, Pending)
    assert pending.retry_after is not None

    sim.state.vms[str(accepted.provider_id)].ready_at = 0.0
    ready = await client.poll("compute", accepted.poll_path)
    assert isinstance(ready, Ready)
    assert ready.provider_id == accepted.provider_id


async def test_synchronous_register_when_asked(
    start_sim: StartSim, make_client: MakeClient, small_vm: VmRequirements
) -> None:
    """With Async: false the VM comes back at once even from a slow provider."""
    sim = await start_sim(async_delay_s=600.0)
    created = await make_client(sim).register(
        small_vm,
        client_uuid="t1",
        vm_name="w",
        volumes=[],
        authentication={"username": "ops", "ssh-key": "ssh-ed25519 AAAA"},
        asynchronous=False,
    )
    assert isinstance(created, Created)
