"""Folding one listing into the store: matching, discovery, unseen and missing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from broker.store import (
    Database,
    InventoryStore,
    Resource,
    ResourceFilter,
    Slice,
    Store,
    new_id,
    utc_now,
)
from broker.store.inventory import Sighting

WHERE = Slice("sim-a", "acme", "vm")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh, migrated database file."""
    database = await Database.open(tmp_path / "broker.sqlite3")
    yield database
    await database.close()


async def keep(db: Database, status: str, provider_id: str | None, **extra: Any) -> str:
    """Store a broker-made VM of acme on sim-a; its id."""
    fields: dict[str, Any] = {
        "tenant": "acme",
        "kind": "vm",
        "name": "web",
        "provider": "sim-a",
        "observed_at": utc_now(),
        **extra,
    }
    rid = new_id()
    await InventoryStore(db).add(
        [Resource(id=rid, status=status, provider_id=provider_id, **fields)]
    )
    return rid


async def fold(db: Database, *seen: Sighting, where: Slice = WHERE) -> None:
    """Reconcile one listing asked for now."""
    asked = utc_now()
    await InventoryStore(db).reconcile(where, list(seen), asked, utc_now(), 1.0)


async def everything(db: Database) -> list[Resource]:
    """Every stored resource, in id order."""
    return (await Store(db).resources(ResourceFilter(), 100)).items


def sighting(provider_id: str, name: str = "x", tag: str | None = None) -> Sighting:
    """A VM as a listing shows it."""
    return Sighting(provider_id, name, {"cores": 1}, tag=tag)


async def test_name_tag_claims_a_resource_whose_provider_id_is_unknown(
    db: Database,
) -> None:
    """A creating resource listed under its tagged name is neither touched nor new."""
    rid = await keep(db, "creating", None)

    await fold(db, sighting("p-1", f"web--{rid}", tag=rid))

    [only] = await everything(db)
    assert (only.id, only.status, only.provider_id) == (rid, "creating", None)


async def test_deleted_resource_still_listed_is_not_rediscovered(db: Database) -> None:
    """A resource the broker deleted stays deleted while the provider lags."""
    rid = await keep(db, "deleted", "p-1")

    await fold(db, sighting("p-1"))

    assert [(r.id, r.status) for r in await everything(db)] == [(rid, "deleted")]


async def test_another_tenants_resource_is_not_discovered_twice(db: Database) -> None:
    """A provider id that is another tenant's resource (a shared volume) is no news."""
    rid = await keep(db, "active", "p-1", tenant="globex")

    await fold(db, sighting("p-1"))

    assert [(r.id, r.tenant) for r in await everything(db)] == [(rid, "globex")]


async def test_one_listing_naming_a_resource_twice_records_it_once(
    db: Database,
) -> None:
    """Duplicates inside one listing make one discovered resource."""
    await fold(db, sighting("p-1"), sighting("p-1"))

    [only] = await everything(db)
    assert (only.origin, only.provider_id, only.tenant) == ("discovered", "p-1", "acme")


async def test_missing_resource_that_reappears_is_active_again(db: Database) -> None:
    """Two listings without it make it missing; the next with it, active."""
    rid = await keep(db, "active", "p-1", observed_at="2000-01-01T00:00:00.000000Z")

    await fold(db)
    await fold(db)
    assert [r.status for r in await everything(db)] == ["missing"]

    await fold(db, sighting("p-1"))
    [back] = await everything(db)
    assert (back.id, back.status, back.unseen) == (rid, "active", 0)
    assert back.details == {"cores": 1}


async def test_resource_younger_than_the_listing_is_not_unseen(db: Database) -> None:
    """A resource observed after the listing was asked for does not count unseen."""
    asked = utc_now()
    rid = await keep(db, "active", "p-1")

    await InventoryStore(db).reconcile(WHERE, [], asked, utc_now(), 1.0)

    [fresh] = await everything(db)
    assert (fresh.id, fresh.unseen, fresh.status) == (rid, 0, "active")


async def test_other_slices_are_left_alone(db: Database) -> None:
    """A listing of volumes says nothing about VMs."""
    await keep(db, "active", "p-1", observed_at="2000-01-01T00:00:00.000000Z")

    await fold(db, where=Slice("sim-a", "acme", "volume"))
    await fold(db, where=Slice("sim-a", "acme", "volume"))

    assert [(r.status, r.unseen) for r in await everything(db)] == [("active", 0)]


async def test_refresh_records_keep_success_and_failure(db: Database) -> None:
    """Each slice remembers its last good refresh and its last failure."""
    store = InventoryStore(db)
    await store.reconcile(WHERE, [], utc_now(), utc_now(), 10.0)
    await store.refresh_failed([WHERE], "Down.", 20.0)

    [record] = await store.refresh_records()

    assert (record.slice, record.ok_at, record.failed_at) == (WHERE, 10.0, 20.0)
    assert record.error == "Down."
