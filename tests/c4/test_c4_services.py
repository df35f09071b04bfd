"""The services operations against the simulator, in both dialects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from broker.c4 import C4Client
from broker.c4.outcome import Accepted, Created, Pending, Ready
from broker.errors import ProviderNotFound
from broker.sim import Simulator

StartSim = Callable[..., Awaitable[Simulator]]
MakeClient = Callable[..., C4Client]


async def test_service_lifecycle(client: C4Client, sim: Simulator) -> None:
    """Create, show, list and delete one s3 bucket."""
    created = await client.create_service(
        "s3", client_uuid="t1", req={"name": "bucket-1"}, asynchronous=False
    )
    assert isinstance(created, Created)
    service_id = created.provider_id

    service = await client.service_info("s3", service_id)
    assert service.metadata.id == service_id
    assert service.metadata.user == "t1"
    listed = await client.services_running("s3", "t1")
    assert [s.metadata.id for s in listed] == [service_id]

    await client.delete_service("s3", service_id, client_uuid="t1")
    assert sim.services("s3", "t1") == []


async def test_services_running_empty(client: C4Client) -> None:
    """A tenant without services of a kind gets an empty list."""
    assert await client.services_running("kaas", "nobody") == []


async def test_service_info_unknown_is_not_found(client: C4Client) -> None:
    """Showing a service the provider does not know raises ProviderNotFound."""
    with pytest.raises(ProviderNotFound):
        await client.service_info("s3", "0" * 32)


async def test_delete_unknown_service_is_not_found(client: C4Client) -> None:
    """Deleting a service the provider does not know raises ProviderNotFound."""
    with pytest.raises(ProviderNotFound):
        await client.delete_service("s3", "0" * 32, client_uuid="t1")


async def test_unknown_kind_is_refused_locally(client: C4Client) -> None:
    """A kind outside the protocol never reaches the provider's URL space."""
    with pytest.raises(ValueError, match="Unknown service kind"):
        await client.services_running("../admin", "t1")


async def test_asynchronous_service_create_is_followed(
    start_sim: StartSim, make_client: MakeClient, dialect: str
) -> None:
    """With Async: true the service is accepted, pending, then ready."""
    sim = await start_sim(dialect=dialect, async_delay_s=600.0)
    client = make_client(sim)
    accepted = await client.create_service("s3", client_uuid="t1", req={})
    assert isinstance(accepted, Accepted)
    assert isinstance(await client.poll("services", accepted.poll_path), Pending)

    sim.state.services[str(accepted.provider_id)].ready_at = 0.0
    ready = await client.poll("services", accepted.poll_path)
    assert isinstance(ready, Ready)
    assert ready.provider_id == accepted.provider_id
