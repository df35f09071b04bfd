"""The storage operations against the simulator, in both dialects."""

from __future__ import annotations

import pytest

from broker.c4 import C4Client
from broker.c4.outcome import Created, Offer, Refusal
from broker.errors import ProviderNotFound
from broker.sim import Simulator

VOLUME_FLAGS = {"private": True, "readonly": False, "shareable": False}


async def test_cancreate_offers_a_price(client: C4Client) -> None:
    """A volume that fits is offered with a price."""
    quote = await client.cancreate(size=10, bootable=False, **VOLUME_FLAGS)
    assert isinstance(quote, Offer)
    assert quote.price is not None
    assert quote.price.monthly > 0


async def test_cancreate_refusal_is_an_answer(client: C4Client) -> None:
    """A volume larger than the provider's disks is refused, not raised."""
    quote = await client.cancreate(size=10**9, bootable=False, **VOLUME_FLAGS)
    assert isinstance(quote, Refusal)


async def test_volume_lifecycle(client: C4Client, sim: Simulator) -> None:
    """Create, show, list, export, unexport and destroy one volume."""
    created = await client.create_volume(
        creator_id="t1", name="data", size=10, bootable=True, **VOLUME_FLAGS
    )
    assert isinstance(created, Created)
    volume_id = created.provider_id

    volume = await client.volume_info(volume_id)
    assert (volume.vid, volume.size, volume.bootable, volume.private) == (
        volume_id,
        10,
        True,
        True,
    )
    assert [v.vid for v in await client.accessible("t1")] == [volume_id]
    await client.export(volume_id, client_uuid="t2")
    assert [v.vid for v in await client.accessible("t2")] == [volume_id]
    await client.unexport(volume_id, client_uuid="t2")

    await client.destroy(volume_id)
    assert sim.volumes("t1") == []


async def test_accessible_empty(client: C4Client) -> None:
    """A tenant without volumes gets an empty list."""
    assert await client.accessible("nobody") == []


async def test_volume_info_unknown_is_not_found(client: C4Client) -> None:
    """Showing a volume the provider does not know raises ProviderNotFound."""
    with pytest.raises(ProviderNotFound):
        await client.volume_info("0" * 32)


async def test_destroy_unknown_is_not_found(client: C4Client) -> None:
    """Destroying a volume the provider does not know raises ProviderNotFound."""
    with pytest.raises(ProviderNotFound):
        await client.destroy("0" * 32)
