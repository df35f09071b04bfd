"""The inventory's queries: fold a provider's listing into the store, and sum it up.

One refresh covers a *slice*: one provider, one tenant, one kind. Its
listing is reconciled in one transaction: what the broker made is matched
by provider id (or by the broker id its provider-side name carries), what
it did not make is recorded as discovered, and what the listing no longer
holds counts one more unseen refresh, becoming ``missing`` at the second.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from broker.store.db import Database, Row, Transaction
from broker.store.records import Resource, new_id

MISSING_AFTER = 2
"""Consecutive successful refreshes without a resource that make it missing."""

_CHUNK = 500
_T = TypeVar("_T")


@dataclass(frozen=True, order=True)
class Slice:
    """What one refresh lists: one provider, one tenant, one kind."""

    provider: str
    tenant: str
    kind: str


@dataclass(frozen=True)
class Sighting:
    """One resource as a provider's listing shows it."""

    provider_id: str
    name: str | None
    details: dict[str, Any]
    price: dict[str, Any] | None = None
    region: str | None = None
    tag: str | None = None
    """The broker resource id carried by the provider-side name, if any."""


@dataclass
class Reconciled:
    """What one reconciliation changed."""

    seen: int = 0
    discovered: int = 0
    reappeared: int = 0
    unseen: int = 0
    missing: int = 0

    @property
    def changed(self) -> bool:
        """Whether a resource appeared, came back or went missing."""
        return bool(self.discovered or self.reappeared or self.missing)


@dataclass(frozen=True)
class RefreshRecord:
    """When a slice was last refreshed well, and when it last failed."""

    slice: Slice
    ok_at: float | None
    failed_at: float | None
    error: str | None = None


@dataclass(frozen=True)
class Summary:
    """Counts of active resources by provider and kind, and their monthly cost."""

    by_provider: dict[str, dict[str, int]]
    by_kind: dict[str, int]
    monthly_cost: dict[str, float]


@dataclass
class _Plan:
    """The writes one reconciliation makes."""

    refreshed: list[tuple[Any, ...]] = field(default_factory=list)
    rewritten: list[tuple[Any, ...]] = field(default_factory=list)
    unseen: list[tuple[Any, ...]] = field(default_factory=list)
    discovered: list[Resource] = field(default_factory=list)
    result: Reconciled = field(default_factory=Reconciled)


class InventoryStore:
    """The inventory's reads and writes over the broker's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def reconcile(
        self,
        where: Slice,
        sightings: Sequence[Sighting],
        listed_at: str,
        answered_at: str,
        now: float,
    ) -> Reconciled:
        """Fold one successful listing into the store and record the refresh."""
        async with self.db.transaction() as tx:
            # Only what the inventory follows: any other resource a listing
            # names (deleted, failed, still creating) is found by _claimed, so
            # that the history of a slice never weighs on its refresh (the
            # index resources_tenant_summary leads with tenant and status).
            known = await tx.fetchall(
                "SELECT id, provider_id, status, unseen, details, observed_at,"
                " price IS NULL AS unpriced FROM resources"
                " WHERE provider = ? AND tenant = ? AND kind = ?"
                " AND status IN ('active', 'missing')",
                (where.provider, where.tenant, where.kind),
            )
            mine = {r["provider_id"]: r for r in known if r["provider_id"]}
            strangers = [s for s in sightings if s.provider_id not in mine]
            claimed = await _claimed(tx, where, strangers)
            plan = _plan(where, sightings, mine, claimed, listed_at, answered_at)
            await _apply(tx, plan)
            await _record_ok(tx, [where], now)
        return plan.result

    async def refresh_failed(
        self, slices: Iterable[Slice], error: str, now: float
    ) -> None:
        """Record failed refreshes; what the store knows of them stays as it is."""
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO provider_refresh"
                " (provider, tenant, kind, ok_at, failed_at, error)"
                " VALUES (?, ?, ?, NULL, ?, ?)"
                " ON CONFLICT (provider, tenant, kind) DO UPDATE"
                " SET failed_at = excluded.failed_at, error = excluded.error",
                [(s.provider, s.tenant, s.kind, now, error) for s in slices],
            )

    async def refresh_succeeded(self, slices: Iterable[Slice], now: float) -> None:
        """Record successful refreshes without a listing (used to seed a store)."""
        async with self.db.transaction() as tx:
            await _record_ok(tx, slices, now)

    async def refresh_records(self) -> list[RefreshRecord]:
        """Every slice's last refresh outcome."""
        rows = await self.db.fetchall(
            "SELECT provider, tenant, kind, ok_at, failed_at, error"
            " FROM provider_refresh"
        )
        return [
            RefreshRecord(
                Slice(r["provider"], r["tenant"], r["kind"]),
                r["ok_at"],
                r["failed_at"],
                r["error"],
            )
            for r in rows
        ]

    async def owners(self) -> dict[str, set[str]]:
        """Each provider with resources not deleted, and the tenants owning them."""
        rows = await self.db.fetchall(
            "SELECT DISTINCT provider, tenant FROM resources"
            " WHERE provider IS NOT NULL AND status != 'deleted'"
        )
        owners: dict[str, set[str]] = {}
        for row in rows:
            owners.setdefault(row["provider"], set()).add(row["tenant"])
        return owners

    async def add(self, resources: Iterable[Resource], batch: int = 5000) -> int:
        """Insert resources in batches of one transaction each; how many."""
        count = 0
        for rows in _batches((r.row() for r in resources), batch):
            async with self.db.transaction() as tx:
                await _insert(tx, rows)
            count += len(rows)
        return count

    async def summary(self, tenant: str | None = None) -> Summary:
        """Active resources counted by provider and kind, and summed by currency."""
        owner, params = ("AND tenant = ?", [tenant]) if tenant is not None else ("", [])
        rows = await self.db.fetchall(
            "SELECT provider, kind, price_currency AS currency, COUNT(*) AS n,"
            " SUM(price_monthly) AS monthly FROM resources"
            f" WHERE status = 'active' {owner}"
            " GROUP BY provider, kind, price_currency",
            params,
        )
        return _summary(rows)

    async def census(self) -> tuple[list[Row], list[Row]]:
        """Counts by provider, kind and status; monthly cost by provider, currency."""
        counts = await self.db.fetchall(
            "SELECT provider, kind, status, COUNT(*) AS n FROM resources"
            " GROUP BY provider, kind, status"
        )
        costs = await self.db.fetchall(
            "SELECT provider, price_currency AS currency, SUM(price_monthly) AS monthly"
            " FROM resources WHERE status = 'active' AND price_currency IS NOT NULL"
            " GROUP BY provider, price_currency"
        )
        return counts, costs


def _summary(rows: list[Row]) -> Summary:
    by_provider: dict[str, dict[str, int]] = {}
    by_kind: dict[str, int] = {}
    monthly: dict[str, float] = {}
    for row in rows:
        kinds = by_provider.setdefault(row["provider"] or "(none)", {})
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + row["n"]
        by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + row["n"]
        if row["currency"] is not None:
            total = monthly.get(row["currency"], 0.0) + float(row["monthly"] or 0.0)
            monthly[row["currency"]] = total
    costs = {currency: round(total, 6) for currency, total in monthly.items()}
    return Summary(by_provider, by_kind, costs)


async def _claimed(
    tx: Transaction, where: Slice, strangers: Sequence[Sighting]
) -> set[str]:
    """Provider ids of ``strangers`` that are already some resource of the broker.

    A provider id may belong to another tenant's resource (a volume shared
    with this tenant); a provider-side name may carry the id of a resource
    whose provider id is not known yet. Either way it is no discovery.
    """
    claimed: set[str] = set()
    for chunk in _batches((s.provider_id for s in strangers), _CHUNK):
        rows = await tx.fetchall(
            "SELECT provider_id FROM resources WHERE provider = ? AND kind = ?"
            f" AND provider_id IN ({', '.join('?' * len(chunk))})",
            [where.provider, where.kind, *chunk],
        )
        claimed.update(r["provider_id"] for r in rows)
    tagged = {s.tag: s.provider_id for s in strangers if s.tag}
    for chunk in _batches(iter(tagged), _CHUNK):
        rows = await tx.fetchall(
            f"SELECT id FROM resources WHERE id IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        claimed.update(tagged[r["id"]] for r in rows)
    return claimed


def _plan(
    where: Slice,
    sightings: Sequence[Sighting],
    mine: dict[str, Row],
    claimed: set[str],
    listed_at: str,
    answered_at: str,
) -> _Plan:
    plan = _Plan()
    listed: set[str] = set()
    for sighting in sightings:
        if sighting.provider_id in listed:
            continue
        listed.add(sighting.provider_id)
        row = mine.get(sighting.provider_id)
        if row is not None:
            _seen(plan, row, sighting, answered_at)
        elif sighting.provider_id not in claimed:
            plan.discovered.append(_discovered(where, sighting, answered_at))
    for provider_id, row in mine.items():
        if provider_id not in listed and _counts_unseen(row, listed_at):
            unseen = row["unseen"] + 1
            status = "missing" if unseen >= MISSING_AFTER else "active"
            plan.unseen.append((unseen, status, answered_at, row["id"]))
            plan.result.unseen += 1
            plan.result.missing += status == "missing"
    plan.result.discovered = len(plan.discovered)
    return plan


def _seen(plan: _Plan, row: Row, sighting: Sighting, answered_at: str) -> None:
    """A resource of the slice is listed: refresh it if the inventory follows it."""
    plan.result.seen += 1
    details = json.dumps(sighting.details, separators=(",", ":"))
    price = json.dumps(sighting.price) if sighting.price and row["unpriced"] else None
    if row["status"] == "missing":
        plan.result.reappeared += 1
    elif details == row["details"] and price is None:
        plan.refreshed.append((answered_at, row["id"]))
        return
    plan.rewritten.append((details, price, answered_at, answered_at, row["id"]))


def _counts_unseen(row: Row, listed_at: str) -> bool:
    """Whether a resource absent from a listing counts as unseen by it.

    Only active resources count, and only those observed before the listing
    was asked for: a resource that became active meanwhile may simply be
    younger than the listing.
    """
    observed = row["observed_at"]
    return row["status"] == "active" and (observed is None or observed < listed_at)


def _discovered(where: Slice, sighting: Sighting, at: str) -> Resource:
    return Resource(
        id=new_id(),
        tenant=where.tenant,
        kind=where.kind,
        name=sighting.name or sighting.provider_id,
        status="active",
        origin="discovered",
        provider=where.provider,
        region=sighting.region,
        provider_id=sighting.provider_id,
        price=sighting.price,
        details=sighting.details,
        created_at=at,
        updated_at=at,
        observed_at=at,
    )


async def _apply(tx: Transaction, plan: _Plan) -> None:
    if plan.refreshed:
        await tx.executemany(
            "UPDATE resources SET observed_at = ?, unseen = 0 WHERE id = ?",
            plan.refreshed,
        )
    if plan.rewritten:
        await tx.executemany(
            "UPDATE resources SET status = 'active', unseen = 0, details = ?,"
            " price = COALESCE(?, price), observed_at = ?, updated_at = ?"
            " WHERE id = ?",
            plan.rewritten,
        )
    if plan.unseen:
        await tx.executemany(
            "UPDATE resources SET unseen = ?, status = ?, updated_at = ? WHERE id = ?",
            plan.unseen,
        )
    if plan.discovered:
        await _insert(tx, [r.row() for r in plan.discovered])


async def _insert(tx: Transaction, rows: list[tuple[Any, ...]]) -> None:
    slots = ", ".join("?" * len(Resource.COLUMNS.split(",")))
    await tx.executemany(
        f"INSERT OR IGNORE INTO resources ({Resource.COLUMNS}) VALUES ({slots})", rows
    )


async def _record_ok(tx: Transaction, slices: Iterable[Slice], now: float) -> None:
    await tx.executemany(
        "INSERT INTO provider_refresh (provider, tenant, kind, ok_at, failed_at, error)"
        " VALUES (?, ?, ?, ?, NULL, NULL)"
        " ON CONFLICT (provider, tenant, kind) DO UPDATE"
        " SET ok_at = excluded.ok_at, error = NULL",
        [(s.provider, s.tenant, s.kind, now) for s in slices],
    )


def _batches(items: Iterator[_T], size: int) -> Iterator[list[_T]]:
    batch: list[_T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
