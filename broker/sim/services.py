"""The services server: PaaS and SaaS services of every kind the provider offers.

The kind is a path segment; a kind the provider does not serve answers a
C4 "service unavailable" error. ``GET /{kind}/running/{id}`` (the polling
target) exists in both dialects; ``GET /{kind}/info`` only in the
documented one, as the reference implementation lacks it. ``info`` shows a
service still being created (state "creating"); polling answers 425 then.
"""

from __future__ import annotations

import logging

from aiohttp import web

from broker.sim.config import SERVICE_KINDS
from broker.sim.context import SimContext, sim_of
from broker.sim.errors import bad_request, not_found, service_unavailable
from broker.sim.handling import (
    API,
    check_ready,
    create_refusal,
    json_body,
    now,
    polling_url,
    ready_time,
    region_of,
    require_tenant,
    wants_async,
)
from broker.sim.parse import as_object, tenant_of
from broker.sim.shapes import service_wire
from broker.sim.state import ServiceRecord

logger = logging.getLogger(__name__)


def _kind(request: web.Request, ctx: SimContext) -> str:
    kind = request.match_info["kind"]
    if kind not in SERVICE_KINDS or kind not in ctx.config.kinds:
        raise service_unavailable(kind)
    return kind


def _service(
    ctx: SimContext, kind: str, service_id: str, tenant: str | None
) -> ServiceRecord:
    service = ctx.state.services.get(service_id)
    mismatch = service is not None and (
        service.kind != kind or (tenant is not None and tenant != service.tenant)
    )
    if service is None or mismatch:
        raise not_found(f"{kind} service", service_id)
    return service


async def service_create(request: web.Request) -> web.Response:
    """``POST /{kind}/create``: create a service, at once or behind a polling URL."""
    ctx = sim_of(request)
    kind = _kind(request, ctx)
    body = await json_body(request)
    tenant = require_tenant(body, "body")
    service_request = as_object(body.get("req") or {}, "req")
    region = region_of(request, ctx)
    if region is None:
        raise create_refusal(ctx)

    asynchronous = wants_async(request, ctx)
    service = ctx.state.add_service(
        kind,
        tenant,
        service_request,
        region=region,
        ready_at=ready_time(ctx, asynchronous),
    )
    logger.debug(
        "sim service created provider=%s kind=%s id=%s",
        ctx.config.name,
        kind,
        service.id,
    )

    if asynchronous:
        url = polling_url(ctx, "services", f"{API}/{kind}/running/{service.id}")
        return web.json_response({"id": service.id, "poolingURL": url}, status=202)
    return web.json_response(service_wire(ctx.config, service, now()))


async def service_info(request: web.Request) -> web.Response:
    """``GET /{kind}/info``: one service by ``?id=`` or body ``{"id"}``."""
    ctx = sim_of(request)
    kind = _kind(request, ctx)
    service_id = request.query.get("id")
    if not service_id:
        body = await json_body(request, required=False)
        service_id = str(body.get("id") or "")
    if not service_id:
        raise bad_request("id", "query", "missing", "string")

    service = _service(ctx, kind, service_id, tenant_of(request.headers))
    return web.json_response(service_wire(ctx.config, service, now()))


async def service_poll(request: web.Request) -> web.Response:
    """``GET /{kind}/running/{id}``: one service; 425 while being created."""
    ctx = sim_of(request)
    kind = _kind(request, ctx)
    service_id = request.match_info["service_id"]
    service = _service(ctx, kind, service_id, tenant_of(request.headers))
    check_ready(service.ready_at)
    return web.json_response(service_wire(ctx.config, service, now()))


async def service_running(request: web.Request) -> web.Response:
    """``GET /{kind}/running``: the services of the tenant in header ``client_uuid``."""
    ctx = sim_of(request)
    kind = _kind(request, ctx)
    tenant = tenant_of(request.headers) or tenant_of(request.query)
    if tenant is None:
        raise bad_request("client_uuid", "header", "missing", "string")
    at = now()
    services = ctx.state.services_of(kind, tenant)
    return web.json_response([service_wire(ctx.config, s, at) for s in services])


async def service_delete(request: web.Request) -> web.Response:
    """``DELETE /{kind}/delete``: delete one of the tenant's services."""
    ctx = sim_of(request)
    kind = _kind(request, ctx)
    body = await json_body(request)
    tenant = require_tenant(body, "body")
    service_id = body.get("id")
    if not isinstance(service_id, str) or not service_id:
        raise bad_request("id", "body", "missing", "string")

    service = _service(ctx, kind, service_id, tenant)
    ctx.state.remove_service(kind, service.id)
    logger.debug(
        "sim service deleted provider=%s kind=%s id=%s",
        ctx.config.name,
        kind,
        service.id,
    )
    return web.json_response({"id": service.id, "deleted": True})


def add_services_routes(router: web.UrlDispatcher, reference: bool) -> None:
    """Add the services server's routes for the docs or the reference dialect."""
    base = f"{API}/{{kind}}"
    router.add_post(f"{base}/create", service_create, name="service_create")
    router.add_get(f"{base}/running", service_running, name="service_running")
    router.add_get(
        f"{base}/running/{{service_id}}", service_poll, name="service_info:poll"
    )
    router.add_delete(f"{base}/delete", service_delete, name="service_delete")
    if not reference:
        router.add_get(f"{base}/info", service_info, name="service_info")
