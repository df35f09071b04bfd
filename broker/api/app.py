"""The aiohttp application: its parts, their lifetime, and its routes.

One database connection and one HTTP client session live for the whole
process, created and closed in the application's cleanup context; the job
runner and the inventory run beside the server in the same event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from broker import logs
from broker.api import middleware
from broker.api.auth import KeyRing
from broker.api.cache import ReadCache
from broker.api.context import (
    CONFIG,
    INVENTORY,
    KEYS,
    LIMITER,
    METRICS,
    PLACER,
    PROVIDERS,
    PURGER,
    READ_CACHE,
    RELOAD_ON_SIGHUP,
    RELOADER,
    RUNNER,
    STORE,
)
from broker.api.keys import KeyPurger
from broker.api.ratelimit import RateLimiter
from broker.api.routes import (
    docs,
    inventory,
    jobs,
    metrics,
    placements,
    resources,
    system,
)
from broker.config import LoadedConfig
from broker.health import HealthBook, HealthPolicy
from broker.inventory import Inventory
from broker.jobs import JobEnv, JobRunner
from broker.metrics import Metrics
from broker.placement import Placer
from broker.providers import Providers
from broker.reload import RegistryReloader
from broker.store import Database, InventoryStore, Store

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
SESSION = web.AppKey("session", aiohttp.ClientSession)


def create_app(config: LoadedConfig) -> web.Application:
    """The broker's application for one loaded configuration."""
    app = web.Application(
        middlewares=[middleware.measure, middleware.errors, middleware.authentication],
        client_max_size=MAX_BODY_BYTES,
    )
    app[CONFIG] = config
    app[KEYS] = KeyRing(config.broker.tenants)
    logs.REDACTION.set_secrets(
        "api keys", (k for t in config.broker.tenants for k in t.api_keys)
    )
    app[METRICS] = Metrics()
    app[LIMITER] = RateLimiter()
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_providers)
    app.cleanup_ctx.append(_jobs)
    app.cleanup_ctx.append(_inventory)
    app.cleanup_ctx.append(_reload)
    app.cleanup_ctx.append(_key_purge)
    for module in (system, placements, resources, jobs, inventory, docs, metrics):
        app.add_routes(module.routes)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    db = await Database.open(app[CONFIG].database_path)
    app[STORE] = Store(db)
    app[READ_CACHE] = ReadCache(db)
    yield
    await db.close()


async def _providers(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, limit_per_host=64),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=True,
    )
    app[SESSION] = session
    collectors = app[METRICS]
    health = HealthBook(HealthPolicy(**config.broker.health.model_dump()))
    health.on_eject = lambda name: collectors.provider_ejections.labels(name).inc()
    providers = Providers(config.registry, session, health, observers=[collectors])
    app[PROVIDERS] = providers
    app[PLACER] = Placer(providers, config.broker.placement, collectors)
    yield
    await session.close()


async def _jobs(app: web.Application) -> AsyncIterator[None]:
    env = JobEnv(
        store=app[STORE],
        providers=app[PROVIDERS],
        placer=app[PLACER],
        config=app[CONFIG].broker,
        metrics=app[METRICS],
    )
    runner = JobRunner(env)
    app[RUNNER] = runner
    await runner.start()
    yield
    await runner.stop()


async def _key_purge(app: web.Application) -> AsyncIterator[None]:
    purger = KeyPurger(app[STORE])
    app[PURGER] = purger
    task = asyncio.create_task(purger.run(), name="idempotency-key-purge")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _inventory(app: web.Application) -> AsyncIterator[None]:
    book = Inventory(
        InventoryStore(app[STORE].db),
        app[PROVIDERS],
        app[CONFIG].broker,
        metrics=app[METRICS],
    )
    app[INVENTORY] = book
    app[RUNNER].env.touched = book.touched
    await book.start()
    yield
    await book.stop()


async def _reload(app: web.Application) -> AsyncIterator[None]:
    reloader = RegistryReloader(
        app[CONFIG].providers_path, app[PROVIDERS], app[INVENTORY].registry_changed
    )
    app[RELOADER] = reloader
    await reloader.start(sighup=app.get(RELOAD_ON_SIGHUP, False))
    yield
    await reloader.stop()


async def serve(
    app: web.Application,
    host: str,
    port: int,
    ready: Callable[[], None] | None = None,
) -> None:
    """Serve until cancelled, then stop taking requests and shut down cleanly."""
    app[RELOAD_ON_SIGHUP] = True
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=10)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("broker listening url=http://%s:%d", host, port)
        if ready is not None:
            ready()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
    finally:
        log.info("broker stopping")
        await runner.cleanup()
