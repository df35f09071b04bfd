"""``GET /metrics``: the Prometheus exposition, with gauges brought up to date."""

from __future__ import annotations

import time

from aiohttp import web

from broker.api.context import INVENTORY, METRICS, PROVIDERS
from broker.metrics import CONTENT_TYPE, Metrics

routes = web.RouteTableDef()


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    """Every collector's current value in the Prometheus text format."""
    app = request.app
    collectors = app[METRICS]
    _provider_states(app, collectors)
    await _inventory(app, collectors)
    return web.Response(
        body=collectors.exposition(), headers={"Content-Type": CONTENT_TYPE}
    )


def _provider_states(app: web.Application, collectors: Metrics) -> None:
    providers = app[PROVIDERS]
    collectors.provider_state.clear()
    for provider in providers:
        collectors.set_provider_state(provider.name, providers.state(provider.name))
    inventory = app[INVENTORY]
    now = time.time()
    collectors.inventory_refresh_age.clear()
    for provider in providers:
        refreshed = inventory.refreshed_at(provider.name)
        if refreshed is not None:
            collectors.inventory_refresh_age.labels(provider.name).set(now - refreshed)


async def _inventory(app: web.Application, collectors: Metrics) -> None:
    counts, costs = await app[INVENTORY].store.census()
    collectors.inventory_resources.clear()
    for row in counts:
        labels = (row["provider"] or "none", row["kind"], row["status"])
        collectors.inventory_resources.labels(*labels).set(row["n"])
    collectors.inventory_cost.clear()
    for row in costs:
        provider = row["provider"] or "none"
        collectors.inventory_cost.labels(provider, row["currency"]).set(
            row["monthly"] or 0.0
        )
