"""Repeated reads are served from a cache that never outlives a write."""

from __future__ import annotations

from tests.conftest import BrokerFactory, SimFactory

VOLUME = {"name": "d", "size_gib": 1}


async def test_a_write_is_visible_to_the_next_read(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """The same listing asked again after a create shows the new resource."""
    broker = await broker_factory([await sim_factory()])
    _, empty = await broker.call("GET", "/v1/volumes")
    _, again = await broker.call("GET", "/v1/volumes")
    assert empty == again == {"items": [], "next_cursor": None}

    _, created = await broker.call("POST", "/v1/volumes", json=VOLUME)
    _, after = await broker.call("GET", "/v1/volumes")
    assert [item["id"] for item in after["items"]] == [created["id"]]


async def test_cached_answers_are_never_shared_between_tenants(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """One tenant's cached page is not served to another asking the same path."""
    broker = await broker_factory([await sim_factory()])
    await broker.call("POST", "/v1/volumes?wait=5", json=VOLUME)
    _, mine = await broker.call("GET", "/v1/volumes")
    _, theirs = await broker.call("GET", "/v1/volumes", who="globex")
    _, admin = await broker.call("GET", "/v1/volumes", who="ops")
    assert len(mine["items"]) == 1
    assert theirs["items"] == []
    assert len(admin["items"]) == 1
