"""Checks before work is accepted: attached volumes, fan-out width, jobs in flight."""

from __future__ import annotations

from aiohttp import web

from broker.api.auth import Tenant
from broker.api.context import PLACER, STORE
from broker.api.problems import Problem
from broker.placement import Request
from broker.specs import VmCreate


async def check_volumes(
    app: web.Application, tenant: Tenant, body: VmCreate, prefix: str = ""
) -> None:
    """Refuse a VM that would attach a volume the tenant has no active copy of."""
    errors = []
    for index, volume_id in enumerate(body.volumes):
        volume = await app[STORE].resource(volume_id, tenant.name)
        if volume is None or volume.kind != "volume" or volume.status != "active":
            errors.append(
                {
                    "field": f"{prefix}volumes.{index}",
                    "message": "No such active volume.",
                }
            )
    if errors:
        raise Problem(
            422,
            "The request is not valid; see errors.",
            code="validation-failed",
            errors=errors,
        )


def check_fan_out(app: web.Application, request: Request) -> None:
    """Refuse a request that would ask more providers than the limit allows."""
    placer = app[PLACER]
    width = placer.width(request)
    limit = placer.config.max_fanout
    if width > limit:
        raise Problem(
            422,
            f"This request would ask {width} providers; the limit is {limit}. "
            "Narrow it with placement.providers, placement.regions or "
            "placement.exclude.",
            code="fan-out-too-wide",
        )


async def check_jobs_in_flight(app: web.Application, tenant: Tenant) -> None:
    """Refuse a create while the tenant already has too many under way."""
    running = await app[STORE].unfinished_creates(tenant.name)
    if running >= tenant.max_jobs_in_flight:
        raise Problem(
            429,
            f"{running} creates are still under way; the limit is "
            f"{tenant.max_jobs_in_flight}. Retry once some have ended.",
            code="too-many-jobs",
            headers={"Retry-After": "5"},
        )
