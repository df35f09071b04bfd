"""Liveness, readiness and the provider list."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from broker.api.context import PROVIDERS, STORE, json_response, tenant_of
from broker.errors import StoreError

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    """Answer while the process runs."""
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Answer 200 when the database answers and a registry is loaded."""
    problems = []
    try:
        await request.app[STORE].db.fetchone("SELECT 1")
    except StoreError:
        problems.append("database")
    if PROVIDERS not in request.app:
        problems.append("registry")
    if problems:
        return json_response({"status": "unavailable", "failing": problems}, status=503)
    return json_response({"status": "ready"})


@routes.get("/v1/providers")
async def list_providers(request: web.Request) -> web.Response:
    """Every provider in the registry with its health; admins also see URLs."""
    providers = request.app[PROVIDERS]
    admin = tenant_of(request).is_admin
    items = []
    for provider in providers:
        health = providers.health.of(provider.name)
        item: dict[str, Any] = {
            "name": provider.name,
            "kinds": list(provider.served_kinds),
            "regions": provider.regions,
            "labels": provider.labels,
            "state": providers.state(provider.name),
            "last_error": health.last_error,
            "last_seen": _iso(health.last_seen),
        }
        if admin:
            item["urls"] = {
                s: provider.base_url(s)
                for s in ("compute", "storage", "services")
                if provider.base_url(s)
            }
            item["header_names"] = sorted(provider.headers)
        items.append(item)
    return json_response({"items": items})


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
