"""The storage server: quotes, creates, shows, shares and destroys volumes.

The documented dialect reads ``info``, ``accessible`` and ``destroy`` as
``POST`` with a body; the reference dialect serves ``GET /info`` (body or
path id), ``GET /accessible?client_uuid=`` and ``DELETE /destroy``. Each
dialect registers only its own variant, so the other answers 405 or 404.
"""

from __future__ import annotations

import logging

from aiohttp import web

from broker.sim.context import SimContext, sim_of
from broker.sim.errors import bad_request, not_found
from broker.sim.handling import (
    API,
    create_refusal,
    json_body,
    quote_refusal,
    region_of,
    require_tenant,
)
from broker.sim.parse import first_id, parse_volume_spec, tenant_of
from broker.sim.shapes import volume_price, volume_wire
from broker.sim.state import NoCapacity, VolumeRecord

logger = logging.getLogger(__name__)

VOLUME_ID_KEYS = ("volume_id", "volume_uuid", "volumeID", "vid")
"""Body keys under which either dialect names a volume."""
TENANT_KEYS_WITH_CREATOR = ("creatorID", "client_uuid", "client_uid")
"""Body keys under which a create names the owning tenant."""


async def cancreate(request: web.Request) -> web.Response:
    """``GET /cancreate``: quote a volume, or refuse it."""
    ctx = sim_of(request)
    spec = parse_volume_spec(await json_body(request))
    refused = ctx.faults.refuse_all or ctx.state.volume_refusal(spec) is not None
    if region_of(request, ctx) is None or refused:
        return quote_refusal(ctx)
    return web.json_response(volume_price(ctx.config, spec.size_gib))


async def create(request: web.Request) -> web.Response:
    """``POST /create``: create a volume for the tenant named ``creatorID``."""
    ctx = sim_of(request)
    body = await json_body(request)
    tenant = first_id(body, TENANT_KEYS_WITH_CREATOR)
    if tenant is None:
        raise bad_request("creatorID", "body", "missing", "string")
    spec = parse_volume_spec(body)
    region = region_of(request, ctx)
    if region is None:
        raise create_refusal(ctx)

    name = str(body.get("name") or "volume")
    try:
        volume = ctx.state.add_volume(tenant, name, spec, region=region)
    except NoCapacity:
        raise create_refusal(ctx) from None
    logger.debug("sim volume created provider=%s volume=%s", ctx.config.name, volume.id)
    return web.json_response(volume_wire(ctx.config, volume))


def _may_use(volume: VolumeRecord, tenant: str | None, owner: bool) -> bool:
    # Reading needs ownership or an export; deleting needs ownership.
    if tenant is None or volume.tenant == tenant:
        return True
    return not owner and tenant in volume.exported_to


def _volume(
    ctx: SimContext, volume_id: str, tenant: str | None, *, owner: bool = False
) -> VolumeRecord:
    volume = ctx.state.volumes.get(volume_id)
    if volume is None or not _may_use(volume, tenant, owner):
        raise not_found("volume", volume_id)
    return volume


async def _volume_from_body(request: web.Request, *, owner: bool) -> VolumeRecord:
    body = await json_body(request)
    volume_id = first_id(body, VOLUME_ID_KEYS)
    if volume_id is None:
        raise bad_request("volume_id", "body", "missing", "string")
    return _volume(sim_of(request), volume_id, tenant_of(body), owner=owner)


async def info(request: web.Request) -> web.Response:
    """``info``: one volume, by id in the body or (reference) in the path."""
    ctx = sim_of(request)
    path_id = request.match_info.get("volume_id")
    if path_id is not None:
        volume = _volume(ctx, path_id, tenant_of(request.query))
    else:
        volume = await _volume_from_body(request, owner=False)
    return web.json_response(volume_wire(ctx.config, volume))


async def accessible(request: web.Request) -> web.Response:
    """``accessible``: the volumes a tenant may use, named in body or query."""
    ctx = sim_of(request)
    if request.method == "GET":
        tenant = require_tenant(request.query, "query")
    else:
        tenant = require_tenant(await json_body(request), "body")
    volumes = ctx.state.volumes_of(tenant)
    return web.json_response([volume_wire(ctx.config, v) for v in volumes])


async def destroy(request: web.Request) -> web.Response:
    """``destroy``: delete a volume and free its disk."""
    ctx = sim_of(request)
    volume = await _volume_from_body(request, owner=True)
    ctx.state.remove_volume(volume.id)
    logger.debug(
        "sim volume destroyed provider=%s volume=%s", ctx.config.name, volume.id
    )
    return web.json_response({"unregistered": None, "uniqueID": volume.id})


async def _sharing(request: web.Request, exported: bool) -> web.Response:
    ctx = sim_of(request)
    body = await json_body(request)
    tenant = require_tenant(body, "body")
    volume_id = first_id(body, VOLUME_ID_KEYS)
    if volume_id is None:
        raise bad_request("volume_id", "body", "missing", "string")

    volume = _volume(ctx, volume_id, None)
    if exported:
        volume.exported_to.add(tenant)
    else:
        volume.exported_to.discard(tenant)
    return web.json_response(
        {"volume_id": volume.id, "client_uuid": tenant, "exported": exported}
    )


async def export(request: web.Request) -> web.Response:
    """``POST /export``: give a tenant access to a volume."""
    return await _sharing(request, True)


async def unexport(request: web.Request) -> web.Response:
    """``POST /unexport``: take a tenant's access to a volume away."""
    return await _sharing(request, False)


def add_storage_routes(router: web.UrlDispatcher, reference: bool) -> None:
    """Add the storage server's routes for the docs or the reference dialect."""
    router.add_get(f"{API}/cancreate", cancreate, name="cancreate")
    router.add_post(f"{API}/create", create, name="create")
    router.add_post(f"{API}/export", export, name="export")
    router.add_post(f"{API}/unexport", unexport, name="unexport")
    if reference:
        router.add_get(f"{API}/info", info, name="info")
        router.add_get(f"{API}/info/{{volume_id}}", info, name="info:by_id")
        router.add_get(f"{API}/accessible", accessible, name="accessible")
        router.add_delete(f"{API}/destroy", destroy, name="destroy")
    else:
        router.add_post(f"{API}/info", info, name="info")
        router.add_post(f"{API}/accessible", accessible, name="accessible")
        router.add_post(f"{API}/destroy", destroy, name="destroy")
