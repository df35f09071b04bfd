"""The inventory: what every provider reports, for every tenant, kept fresh.

Every ``refresh_interval_s`` a round lists each provider for each tenant and
each kind it serves (a *slice*), at most ``concurrency`` calls at a time, and
folds each listing into the store (see :mod:`broker.store.inventory`). A job
that touched a provider asks for that slice again at once. A provider is
stale when a slice's last refresh failed or its last good one is older than
two intervals; what the store knows of it stays as it was.

Each round first asks one slice of a provider alone: if that call fails
with a fault (the provider is down or hanging), the provider's other slices
are recorded as failed without calling it, so a dead provider with a
thousand tenants costs one timeout per round, not a thousand.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Literal, TypeVar

from broker import logs
from broker.config import BrokerConfig, ProviderConfig
from broker.errors import ProviderError, ProviderFault
from broker.jobs.kinds import Observed, Target, listing
from broker.metrics import Metrics
from broker.providers import Providers, RegistryDiff
from broker.specs import resource_id_in
from broker.store import utc_now
from broker.store.inventory import InventoryStore, Reconciled, Sighting, Slice

log = logging.getLogger(__name__)

MIN_PAUSE_SHARE = 0.1
"""Share of the interval always slept between rounds, however long one took."""

EJECTED = "Not asked: the provider is ejected for now."
FAILED_EARLIER = "Not asked: the provider failed earlier in this round."

Outcome = Literal["ok", "fault", "failed", "skipped", "ejected"]
_T = TypeVar("_T")
_Freshness = tuple[float | None, float | None]


class Inventory:
    """Refreshes every provider's view into the store and says how fresh it is."""

    def __init__(
        self,
        store: InventoryStore,
        providers: Providers,
        config: BrokerConfig,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics or Metrics()
        self.providers = providers
        self.clock = clock
        self.interval_s = config.inventory.refresh_interval_s
        self._concurrency = config.inventory.concurrency
        self._targeted_delay_s = config.inventory.targeted_delay_s
        self._gate = asyncio.Semaphore(self._concurrency)
        self._uuids = {t.name: t.client_uuid for t in config.tenants}
        self._freshness: dict[str, dict[tuple[str, str], _Freshness]] = {}
        self._owners: dict[str, set[str]] = {}
        self._locks: dict[Slice, asyncio.Lock] = {}
        self._round = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()
        self._queued: set[Slice] = set()
        self._tasks: set[asyncio.Task[object]] = set()
        self._loop: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load what earlier runs recorded and start the periodic rounds."""
        for record in await self.store.refresh_records():
            self._note(record.slice, record.ok_at, record.failed_at)
        self._owners = await self.store.owners()
        self._idle.clear()
        self._loop = asyncio.create_task(self._run(), name="inventory-rounds")
        log.info(
            "inventory started interval_s=%g concurrency=%d",
            self.interval_s,
            self._concurrency,
        )

    async def stop(self) -> None:
        """Stop the rounds and every refresh under way."""
        tasks = [*self._tasks, *([self._loop] if self._loop else [])]
        self._loop = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("inventory stopped")

    async def settle(self) -> None:
        """Wait for the round under way and every targeted refresh asked so far."""
        await self._idle.wait()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # Refreshing

    async def refresh_all(self) -> None:
        """One round over every enabled provider (after any round under way)."""
        async with self._round:
            started = time.monotonic()
            enabled = [p for p in self.providers if p.enabled]
            await _bounded(enabled, self._refresh_provider, self._concurrency)
            log.info(
                "inventory round ended providers=%d elapsed_ms=%d",
                len(enabled),
                (time.monotonic() - started) * 1000,
            )

    async def refresh_provider(self, name: str) -> None:
        """Refresh every slice of one provider now."""
        config = self.providers.get(name)
        if config is not None and config.enabled:
            await self._refresh_provider(config)

    async def refresh(self, provider: str, tenant: str, kind: str) -> bool:
        """Refresh one slice now; whether it was listed and folded in."""
        where = Slice(provider, tenant, kind)
        async with self._lock(where):
            self._queued.discard(where)
            outcome = await self._refresh(where)
        if outcome == "ejected":
            await self._failed([where], EJECTED)
        return outcome == "ok"

    def touched(self, provider: str, tenant: str, kind: str) -> None:
        """Refresh a slice soon because a job changed it (targeted refresh)."""
        if self._loop is None:
            return
        where = Slice(provider, tenant, kind)
        if where in self._queued:
            return
        self._queued.add(where)
        self._spawn(self._targeted(where), f"inventory-refresh-{provider}")

    async def registry_changed(self, diff: RegistryDiff) -> None:
        """Follow a reload: refresh new and changed providers, note removed ones."""
        self._owners = await self.store.owners()
        for name in (*diff.added, *diff.changed):
            self._spawn(self.refresh_provider(name), f"inventory-provider-{name}")

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            self._idle.clear()
            try:
                await self.refresh_all()
            except Exception:
                log.exception("inventory round failed")
            finally:
                self._idle.set()
            elapsed = time.monotonic() - started
            pause = max(self.interval_s - elapsed, self.interval_s * MIN_PAUSE_SHARE)
            await asyncio.sleep(pause)

    async def _refresh_provider(self, config: ProviderConfig) -> None:
        slices = [
            Slice(config.name, tenant, kind)
            for tenant in self._uuids
            for kind in config.served_kinds
        ]
        if not slices:
            return
        first, rest = slices[0], slices[1:]
        outcome = await self._guarded(first)
        if outcome == "ejected":
            await self._failed(slices, EJECTED)
            return
        if outcome == "fault":
            await self._failed(rest, FAILED_EARLIER)
            return
        unasked: list[Slice] = []

        async def one(where: Slice) -> None:
            if await self._guarded(where) == "ejected":
                unasked.append(where)

        await _bounded(rest, one, self._concurrency)
        await self._failed(unasked, EJECTED)

    async def _targeted(self, where: Slice) -> None:
        # A short pause lets the jobs that finish together share one listing.
        await asyncio.sleep(self._targeted_delay_s)
        if await self._guarded(where) == "ejected":
            await self._failed([where], EJECTED)

    async def _guarded(self, where: Slice) -> Outcome:
        """Refresh a slice; an unexpected error is logged, not raised."""
        try:
            async with self._lock(where):
                self._queued.discard(where)
                outcome = await self._refresh(where)
        except Exception:
            log.exception(
                "inventory refresh crashed provider=%s tenant=%s kind=%s",
                where.provider,
                where.tenant,
                where.kind,
            )
            outcome = "failed"
        self.metrics.inventory_refreshes.labels(where.provider, outcome).inc()
        return outcome

    async def _refresh(self, where: Slice) -> Outcome:
        """List one slice and fold it in; the caller holds the slice's lock.

        A provider that is ejected is not called, and nothing is recorded:
        the caller records it, for many slices at once where it can.
        """
        target = self._target(where)
        if target is None:
            return "skipped"
        async with self._gate:
            logs.bind(provider=where.provider)
            if not await self.providers.admit(where.provider):
                return "ejected"
            listed_at, started = utc_now(), time.monotonic()
            try:
                observed = await listing(target)
            except ProviderError as exc:
                return await self._listing_failed(where, exc)
            result = await self._fold(where, observed, listed_at)
        _log_refresh(where, result, time.monotonic() - started)
        return "ok"

    async def _fold(
        self, where: Slice, observed: Sequence[Observed], listed_at: str
    ) -> Reconciled:
        now = self.clock()
        sightings = [_sighting(o) for o in observed]
        result = await self.store.reconcile(where, sightings, listed_at, utc_now(), now)
        self._note(where, ok_at=now)
        if result.discovered:
            self._owners.setdefault(where.provider, set()).add(where.tenant)
        return result

    async def _listing_failed(self, where: Slice, exc: ProviderError) -> Outcome:
        log.warning(
            "inventory refresh failed provider=%s tenant=%s kind=%s outcome=%s",
            where.provider,
            where.tenant,
            where.kind,
            exc.outcome,
        )
        await self._failed([where], str(exc))
        return "fault" if isinstance(exc, ProviderFault) else "failed"

    async def _failed(self, slices: Sequence[Slice], error: str) -> None:
        if not slices:
            return
        now = self.clock()
        await self.store.refresh_failed(slices, error, now)
        for where in slices:
            self._note(where, failed_at=now)

    def _target(self, where: Slice) -> Target | None:
        config = self.providers.get(where.provider)
        client_uuid = self._uuids.get(where.tenant)
        if config is None or client_uuid is None or not config.enabled:
            return None
        if where.kind not in config.served_kinds:
            return None
        try:
            client = self.providers.client(where.provider)
        except KeyError:
            return None
        return Target(client, config, where.kind, client_uuid)

    def _lock(self, where: Slice) -> asyncio.Lock:
        """The lock that keeps two refreshes of one slice from crossing."""
        return self._locks.setdefault(where, asyncio.Lock())

    def _spawn(self, work: Coroutine[Any, Any, object], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # Freshness

    def _note(
        self, where: Slice, ok_at: float | None = None, failed_at: float | None = None
    ) -> None:
        slices = self._freshness.setdefault(where.provider, {})
        old_ok, old_failed = slices.get((where.tenant, where.kind), (None, None))
        slices[(where.tenant, where.kind)] = (
            old_ok if ok_at is None else ok_at,
            old_failed if failed_at is None else failed_at,
        )

    def refreshed_at(self, provider: str) -> float | None:
        """When the provider's least recently refreshed slice last succeeded."""
        slices = self._freshness.get(provider, {})
        times = [ok_at for ok_at, _ in slices.values()]
        if not times or any(t is None for t in times):
            return None
        return min(t for t in times if t is not None)

    def stale_providers(self, tenant: str | None = None) -> list[str]:
        """Providers whose view is not current, for one tenant or for everyone.

        A provider in the registry is stale when the last refresh of one of
        its slices failed, or succeeded more than two intervals ago. A provider
        removed from the registry is never refreshed again: it stays stale
        while resources on it are still in the store.
        """
        oldest = self.clock() - 2 * self.interval_s
        tenants = set(self._uuids) if tenant is None else {tenant}
        stale = {p.name for p in self.providers if self._is_stale(p, tenants, oldest)}
        stale.update(
            name
            for name, owners in self._owners.items()
            if self.providers.get(name) is None and (tenant is None or tenant in owners)
        )
        return sorted(stale)

    def _is_stale(
        self, provider: ProviderConfig, tenants: set[str], oldest: float
    ) -> bool:
        served = provider.served_kinds
        for (tenant, kind), (ok_at, failed_at) in self._freshness.get(
            provider.name, {}
        ).items():
            if tenant not in tenants or kind not in served:
                continue
            if ok_at is None or ok_at < oldest:
                return True
            if failed_at is not None and failed_at > ok_at:
                return True
        return False


def _sighting(observed: Observed) -> Sighting:
    region = observed.details.get("region")
    return Sighting(
        provider_id=observed.provider_id,
        name=observed.name,
        details=observed.details,
        price=observed.price,
        region=region if isinstance(region, str) else None,
        tag=resource_id_in(observed.name),
    )


def _log_refresh(where: Slice, result: Reconciled, elapsed_s: float) -> None:
    log.log(
        logging.INFO if result.changed else logging.DEBUG,
        "inventory refreshed provider=%s tenant=%s kind=%s seen=%d discovered=%d"
        " reappeared=%d unseen=%d missing=%d elapsed_ms=%d",
        where.provider,
        where.tenant,
        where.kind,
        result.seen,
        result.discovered,
        result.reappeared,
        result.unseen,
        result.missing,
        elapsed_s * 1000,
    )


async def _bounded(
    items: Sequence[_T], work: Callable[[_T], Awaitable[object]], limit: int
) -> None:
    """Run ``work`` over ``items`` with at most ``limit`` under way at once."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:
            await work(item)

    await asyncio.gather(*(worker() for _ in range(min(limit, len(items)))))
