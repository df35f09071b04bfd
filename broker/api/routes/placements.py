"""``POST /v1/placements``: where could this run, and at what price, right now."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from broker.api.context import PLACER, json_response, parse_body, tenant_of, validate
from broker.api.limits import check_fan_out, check_volumes
from broker.config import Kind
from broker.placement import Request
from broker.specs import VmCreate, body_model

routes = web.RouteTableDef()


class PlacementQuery(BaseModel):
    """A dry-run placement: the kind and the create body it would get."""

    model_config = ConfigDict(extra="forbid")

    kind: Kind
    spec: dict[str, Any]


@routes.post("/v1/placements")
async def place(request: web.Request) -> web.Response:
    """Ask every eligible provider now and rank the offers; nothing is created."""
    query = await parse_body(request, PlacementQuery)
    body = validate(body_model(query.kind), query.spec, prefix="spec")
    tenant = tenant_of(request)
    if isinstance(body, VmCreate):
        await check_volumes(request.app, tenant, body, prefix="spec.")
    question = Request(query.kind, body, tenant.client_uuid)
    check_fan_out(request.app, question)
    result = await request.app[PLACER].place(question)
    return json_response(result.as_dict())
