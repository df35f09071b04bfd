"""Inventory queries at scale: 100,000 resources over 100 providers and 10 tenants.

Fills a fresh SQLite file through the inventory's store, then starts the
broker on it (the 100 providers are registered but disabled, so no round
calls them) and times, through the real HTTP API, one inventory page of
100 items with a filter, as an admin and as a tenant, and the summary.
Prints the median of several runs of each, the query plans of the page and
summary queries, and the broker process's resident memory.

    .venv/bin/python -m bench.inventory_bench [--resources 100000] [--runs 15]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web

from bench.common import free_port, rss_mib
from broker.api.app import create_app
from broker.config import KINDS, load_config
from broker.store import Database, InventoryStore, Resource, Slice, utc_now

PROVIDERS = 100
TENANTS = 10
ADMIN_KEY = "bench-admin-0123456789"
STATUSES = ["active"] * 90 + ["missing"] * 5 + ["deleted"] * 3 + ["failed"] * 2


def tenant_key(index: int) -> str:
    """The API key of the bench's tenant number ``index``."""
    return f"bench-tenant-{index:02d}-key"


def write_config(folder: Path) -> Path:
    """broker.yaml with 10 tenants and an admin, providers.yaml with 100 providers."""
    providers = [
        {"name": f"p-{i:03d}", "compute": "http://127.0.0.1:9", "enabled": False}
        for i in range(PROVIDERS)
    ]
    (folder / "providers.yaml").write_text(yaml.safe_dump({"providers": providers}))
    tenants: list[dict[str, Any]] = [
        {"name": f"t-{i:02d}", "client_uuid": f"{i:032x}", "api_keys": [tenant_key(i)]}
        for i in range(TENANTS)
    ]
    tenants.append(
        {
            "name": "ops",
            "client_uuid": "f" * 32,
            "role": "admin",
            "api_keys": [ADMIN_KEY],
        }
    )
    config = {
        "listen": {"host": "127.0.0.1", "port": free_port()},
        "database": "broker.sqlite3",
        "providers_file": "providers.yaml",
        "tenants": tenants,
        "inventory": {"refresh_interval_s": 3600},
    }
    path = folder / "broker.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def resources(count: int) -> Iterator[Resource]:
    """Resources spread evenly over providers, tenants, kinds and statuses."""
    now = utc_now()
    for index in range(count):
        kind = KINDS[(index // (PROVIDERS * TENANTS)) % len(KINDS)]
        currency = "EUR" if index % 4 else "USD"
        price = {"currency": currency, "hourly": 0.05, "monthly": 36.5}
        yield Resource(
            id=f"{index:032x}",
            tenant=f"t-{(index // PROVIDERS) % TENANTS:02d}",
            kind=kind,
            name=f"res-{index}",
            status=STATUSES[(index * 7 + index // PROVIDERS) % len(STATUSES)],
            origin="discovered" if index % 5 == 0 else "broker",
            provider=f"p-{index % PROVIDERS:03d}",
            region="eu-west",
            provider_id=f"pid-{index}",
            price=price if kind in ("vm", "volume") else None,
            spec={"name": f"res-{index}"},
            details={"provider_name": f"res-{index}", "cores": 2},
            created_at=now,
            updated_at=now,
            observed_at=now,
        )


async def fill(path: Path, count: int) -> float:
    """Fill a fresh database with ``count`` resources; seconds taken."""
    started = time.perf_counter()
    db = await Database.open(path)
    try:
        store = InventoryStore(db)
        await store.add(resources(count))
        slices = [
            Slice(f"p-{p:03d}", f"t-{t:02d}", kind)
            for p in range(PROVIDERS)
            for t in range(TENANTS)
            for kind in KINDS
        ]
        await store.refresh_succeeded(slices, time.time())
        await explain(db)
    finally:
        await db.close()
    return time.perf_counter() - started


PLANS = {
    "page by provider": (
        "SELECT id FROM resources WHERE provider = ? ORDER BY id LIMIT 101",
        ["p-042"],
    ),
    "page by status": (
        "SELECT id FROM resources WHERE status = ? ORDER BY id LIMIT 101",
        ["missing"],
    ),
    "tenant page by provider": (
        "SELECT id FROM resources WHERE tenant = ? AND provider = ?"
        " ORDER BY id LIMIT 101",
        ["t-03", "p-042"],
    ),
    "summary": (
        "SELECT provider, kind, price_currency, COUNT(*), SUM(price_monthly)"
        " FROM resources WHERE status = 'active'"
        " GROUP BY provider, kind, price_currency",
        [],
    ),
    "tenant summary": (
        "SELECT provider, kind, price_currency, COUNT(*), SUM(price_monthly)"
        " FROM resources WHERE status = 'active' AND tenant = ?"
        " GROUP BY provider, kind, price_currency",
        ["t-03"],
    ),
    "refresh slice": (
        "SELECT id, details FROM resources WHERE provider = ? AND tenant = ?"
        " AND kind = ? AND status IN ('active', 'missing')",
        ["p-042", "t-03", "vm"],
    ),
}


async def explain(db: Database) -> None:
    """Print how SQLite runs the inventory's main queries."""
    for name, (sql, params) in PLANS.items():
        rows = await db.fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
        print(f"plan {name}: " + "; ".join(r["detail"] for r in rows))


async def timed(
    session: aiohttp.ClientSession, url: str, key: str, runs: int
) -> tuple[float, Any]:
    """Median milliseconds of ``runs`` GETs of ``url`` and the last answer."""
    headers = {"Authorization": f"Bearer {key}"}
    times = []
    body: Any = None
    for _ in range(runs + 2):
        started = time.perf_counter()
        async with session.get(url, headers=headers) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"{url}: {resp.status} {body}")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[2:]), body


async def measure(base: str, runs: int) -> None:
    """Time pages and summaries through the HTTP API and print the figures."""
    cases = [
        ("page admin provider filter", "/v1/inventory?limit=100&provider=p-042", ""),
        ("page admin status filter", "/v1/inventory?limit=100&status=missing", ""),
        ("page tenant provider filter", "/v1/inventory?limit=100&provider=p-042", "t"),
        ("page tenant status filter", "/v1/inventory?limit=100&status=active", "t"),
        ("summary admin", "/v1/inventory/summary", ""),
        ("summary tenant", "/v1/inventory/summary", "t"),
    ]
    async with aiohttp.ClientSession() as session:
        for name, path, who in cases:
            key = tenant_key(3) if who else ADMIN_KEY
            ms, body = await timed(session, base + path, key, runs)
            size = len(body["items"]) if "items" in body else len(body["by_provider"])
            print(f"{name}: {ms:.1f} ms (items or providers: {size})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = write_config(Path(folder))
        loaded = load_config(path)
        seconds = await fill(loaded.database_path, args.resources)
        print(f"fill: {seconds:.1f} s for {args.resources} resources")
        runner = web.AppRunner(create_app(loaded), access_log=None)
        await runner.setup()
        port = loaded.broker.listen.port
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            await measure(f"http://127.0.0.1:{port}", args.runs)
            print(f"resident memory: {rss_mib():.1f} MiB")
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
