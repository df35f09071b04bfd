"""The compute server ("matcher"): quotes, creates, lists and deletes VMs."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from broker.sim.context import SimContext, sim_of
from broker.sim.errors import bad_request, not_found
from broker.sim.handling import (
    API,
    check_ready,
    create_refusal,
    json_body,
    polling_url,
    quote_refusal,
    ready_time,
    region_of,
    require_tenant,
    wants_async,
)
from broker.sim.parse import first_id, parse_vm_spec, require, tenant_of
from broker.sim.pricing import price_body, vm_hourly
from broker.sim.shapes import host_capacity, offered_config, status_text, vm_wire
from broker.sim.state import NoCapacity, VmRecord

logger = logging.getLogger(__name__)

VM_ID_KEYS = ("vm_uuid", "uniqueID", "vm_id")
"""Body keys under which clients name a VM, preferred first."""


async def status(request: web.Request) -> web.Response:
    """``GET /status``: plain text, or every VM as JSON when JSON is asked for."""
    ctx = sim_of(request)
    if request.content_type != "application/json":
        return web.Response(text=status_text(ctx.state))
    vms = [vm_wire(ctx.config, vm) for vm in ctx.state.vms.values()]
    if not vms:
        return web.Response(status=204)
    return web.json_response({"vms": vms})


async def statusjson(request: web.Request) -> web.Response:
    """``GET /statusjson``: the hosts' capacity as JSON."""
    return web.json_response(host_capacity(sim_of(request).state))


async def canallocate(request: web.Request) -> web.Response:
    """``GET /canallocate``: quote a VM request, or refuse it."""
    ctx = sim_of(request)
    body = await json_body(request)
    spec = parse_vm_spec(require(body, "req"))
    region = region_of(request, ctx)
    refused = ctx.faults.refuse_all or ctx.state.vm_refusal(spec) is not None
    if region is None or refused:
        return quote_refusal(ctx)

    price = price_body(ctx.config, vm_hourly(ctx.config, spec))
    return web.json_response(
        {
            "config": offered_config(spec, region),
            "info": {"canallocate": True, "price": price},
        }
    )


async def register(request: web.Request) -> web.Response:
    """``POST /register``: create a VM, at once or behind a polling URL."""
    ctx = sim_of(request)
    body = await json_body(request)
    tenant = require_tenant(body, "body")
    spec = parse_vm_spec(require(body, "req"))
    region = region_of(request, ctx)
    if region is None:
        raise create_refusal(ctx)

    asynchronous = wants_async(request, ctx)
    volumes = body.get("volumes")
    try:
        vm = ctx.state.add_vm(
            tenant,
            str(body.get("vm_name") or "vm"),
            spec,
            region=region,
            ready_at=ready_time(ctx, asynchronous),
            volumes=volumes if isinstance(volumes, list) else [],
        )
    except NoCapacity as exc:
        logger.debug("sim vm refused provider=%s short=%s", ctx.config.name, exc)
        raise create_refusal(ctx) from None
    logger.debug("sim vm registered provider=%s vm=%s", ctx.config.name, vm.id)

    if asynchronous:
        url = polling_url(ctx, "compute", f"{API}/running/{vm.id}")
        return web.json_response({"vm_uuid": vm.id, "poolingURL": url}, status=202)
    return web.json_response(vm_wire(ctx.config, vm))


async def running(request: web.Request) -> web.Response:
    """``GET /running?client_uuid=``: the tenant's VMs, 204 when it has none."""
    ctx = sim_of(request)
    tenant = require_tenant(request.query, "query")
    vms = [vm_wire(ctx.config, vm) for vm in ctx.state.vms_of(tenant)]
    if not vms:
        return web.Response(status=204)
    return web.json_response({"vms": vms})


def _owned_vm(ctx: SimContext, vm_id: str, tenant: str | None) -> VmRecord:
    vm = ctx.state.vms.get(vm_id)
    if vm is None or (tenant is not None and tenant != vm.tenant):
        raise not_found("VM", vm_id)
    return vm


async def vm_info(request: web.Request) -> web.Response:
    """``GET /running/{vm_uuid}``: one VM; 425 while it is still being created."""
    ctx = sim_of(request)
    vm = _owned_vm(ctx, request.match_info["vm_uuid"], tenant_of(request.query))
    check_ready(vm.ready_at)
    return web.json_response(vm_wire(ctx.config, vm))


async def _vm_from_body(request: web.Request) -> VmRecord:
    body = await json_body(request)
    vm_id = first_id(body, VM_ID_KEYS)
    if vm_id is None:
        raise bad_request("vm_uuid", "body", "missing", "string")
    return _owned_vm(sim_of(request), vm_id, tenant_of(body))


async def unregister(request: web.Request) -> web.Response:
    """``DELETE /unregister``: delete a VM of the tenant and free its capacity."""
    ctx = sim_of(request)
    vm = await _vm_from_body(request)
    ctx.state.remove_vm(vm.id)
    logger.debug("sim vm unregistered provider=%s vm=%s", ctx.config.name, vm.id)
    return web.json_response({"unregistered": None, "uniqueID": vm.id})


def _power_handler(power: str) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        vm = await _vm_from_body(request)
        vm.power = power
        return web.json_response({"vm_uuid": vm.id, "state": power}, status=202)

    handle.__doc__ = f"Set a VM's power state to {power}."
    return handle


async def metrics(request: web.Request) -> web.Response:
    """``GET /metrics?client_uuid=``: made-up usage figures of the tenant's VMs."""
    ctx = sim_of(request)
    tenant = require_tenant(request.query, "query")
    rng = ctx.state.rng
    usage = [
        {
            "uniqueID": vm.id,
            "state": vm.power,
            "cpu_usage": round(rng.random(), 3),
            "memory_usage": round(rng.random(), 3),
        }
        for vm in ctx.state.vms_of(tenant)
    ]
    return web.json_response({"vms": usage})


def add_compute_routes(router: web.UrlDispatcher) -> None:
    """Add the compute server's routes; both dialects share them."""
    router.add_get(f"{API}/status", status, name="status")
    router.add_get(f"{API}/statusjson", statusjson, name="statusjson")
    router.add_get(f"{API}/canallocate", canallocate, name="canallocate")
    router.add_post(f"{API}/register", register, name="register")
    router.add_get(f"{API}/running", running, name="running")
    router.add_get(f"{API}/running/{{vm_uuid}}", vm_info, name="vm_info")
    router.add_delete(f"{API}/unregister", unregister, name="unregister")
    router.add_get(f"{API}/metrics", metrics, name="metrics")
    for power, name in (("running", "start"), ("stopped", "stop")):
        router.add_post(f"{API}/{name}", _power_handler(power), name=name)
    router.add_post(f"{API}/restart", _power_handler("running"), name="restart")
