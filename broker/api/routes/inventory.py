"""The inventory across kinds and providers, its summary, and registry reloads.

Both inventory routes answer from the store alone: no provider is called on
the request path. How current the answer is shows in each resource's
``observed_at`` and in ``stale_providers``.
"""

from __future__ import annotations

from aiohttp import web

from broker.api.auth import require_admin
from broker.api.context import (
    INVENTORY,
    RELOADER,
    STORE,
    json_response,
    tenant_of,
)
from broker.api.problems import Problem
from broker.api.routes.resources import STATUSES
from broker.api.views import (
    decode_cursor,
    encode_cursor,
    one_of,
    page_limit,
    resource_json,
)
from broker.config import KINDS
from broker.errors import ConfigError
from broker.store import ResourceFilter

routes = web.RouteTableDef()

ORIGINS = ("broker", "discovered")


def _owner(request: web.Request) -> str | None:
    """Whose resources to answer with: the caller's own, or any for an admin.

    An admin may narrow the answer with ``tenant``; a tenant naming anyone
    but itself is refused.
    """
    tenant = tenant_of(request)
    asked = request.query.get("tenant")
    if tenant.is_admin:
        return asked
    if asked is not None and asked != tenant.name:
        raise Problem(
            403, "Only administrators may ask about other tenants.", code="forbidden"
        )
    return tenant.name


@routes.get("/v1/inventory")
async def inventory(request: web.Request) -> web.Response:
    """One page of every resource of every kind on every provider."""
    owner = _owner(request)
    kind = one_of(request, "kind", KINDS)
    where = ResourceFilter(
        tenant=owner,
        kinds=(kind,) if kind else (),
        status=one_of(request, "status", STATUSES),
        provider=request.query.get("provider"),
        origin=one_of(request, "origin", ORIGINS),
    )
    limit = page_limit(request)
    after = decode_cursor(request.query.get("cursor"))
    page = await request.app[STORE].resources(where, limit, after)
    return json_response(
        {
            "items": [resource_json(r) for r in page.items],
            "next_cursor": encode_cursor(page.next_after),
            "stale_providers": request.app[INVENTORY].stale_providers(owner),
        }
    )


@routes.get("/v1/inventory/summary")
async def summary(request: web.Request) -> web.Response:
    """Active resources counted by provider and kind, and their monthly cost."""
    owner = _owner(request)
    totals = await request.app[INVENTORY].store.summary(owner)
    return json_response(
        {
            "by_provider": totals.by_provider,
            "by_kind": totals.by_kind,
            "monthly_cost": totals.monthly_cost,
        }
    )


@routes.post("/v1/admin/reload")
async def reload_registry(request: web.Request) -> web.Response:
    """Re-read the provider registry; a broken file is refused and changes nothing."""
    require_admin(tenant_of(request))
    try:
        diff = await request.app[RELOADER].reload("api")
    except ConfigError as exc:
        raise Problem(
            422,
            "The provider registry is not valid; the one in force stays.",
            code="invalid-registry",
            errors=[{"field": "providers_file", "message": p} for p in exc.problems],
        ) from exc
    return json_response(
        {"added": diff.added, "removed": diff.removed, "changed": diff.changed}
    )
