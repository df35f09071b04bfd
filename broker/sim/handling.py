"""What every route handler of the simulator shares: reading requests, and the
answers several operations give alike (refusals, polling URLs, readiness).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from broker.sim.context import SimContext
from broker.sim.errors import NOT_AVAILABLE, SimError, bad_request, too_early
from broker.sim.parse import strip_pickle_noise, tenant_of

API = "/api/v1.0"
"""The prefix of every C4 path."""

REGION_HEADERS = ("service-country", "service_country")
"""Both spellings of the region header that C4 clients send."""


def now() -> float:
    """The simulator's clock: monotonic seconds."""
    return time.monotonic()


async def json_body(request: web.Request, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON object body, without ``py/object`` noise.

    An absent body is an empty object unless ``required``; anything that is
    not a JSON object is a 400 naming the body.
    """
    raw = await request.read()
    if not raw.strip():
        if required:
            raise bad_request("body", "body", "missing", "JSON object")
        return {}
    try:
        value = json.loads(raw)
        cleaned = strip_pickle_noise(value)
    except (ValueError, RecursionError):
        raise bad_request("body", "body", "not JSON", "JSON object") from None
    if not isinstance(cleaned, dict):
        raise bad_request("body", "body", "not an object", "JSON object")
    return cleaned


def require_tenant(source: Mapping[str, Any], where: str) -> str:
    """The tenant named in a body, query or headers, or a 400 if none is."""
    tenant = tenant_of(source)
    if tenant is None:
        raise bad_request("client_uuid", where, "missing", "string")
    return tenant


def region_of(request: web.Request, ctx: SimContext) -> str | None:
    """The region the request names (default when none), ``None`` if unknown."""
    for header in REGION_HEADERS:
        value = request.headers.get(header, "").strip()
        if value:
            return value if value in ctx.config.regions else None
    return ctx.config.default_region


def wants_async(request: web.Request, ctx: SimContext) -> bool:
    """Whether to answer a create with 202 and a polling URL."""
    asked = request.headers.get("Async", "").strip().lower() == "true"
    return asked and ctx.config.async_delay_s > 0


def ready_time(ctx: SimContext, asynchronous: bool) -> float:
    """When a resource created now becomes ready."""
    return now() + (ctx.config.async_delay_s if asynchronous else 0.0)


def check_ready(ready_at: float) -> None:
    """Raise a 425 with ``Retry-After`` while a resource is still being created."""
    remaining = ready_at - now()
    if remaining > 0:
        raise too_early(max(1, math.ceil(remaining)))


def polling_url(ctx: SimContext, server: str, path: str) -> str:
    """The ``poolingURL`` of a resource whose polling path is ``path``.

    The reference implementation glues the path to a bogus ``https://api``
    host; the documented dialect gives the server's real address.
    """
    if ctx.reference:
        return f"https:/{path}"
    return ctx.urls[server] + path


def quote_refusal(ctx: SimContext) -> web.Response:
    """The answer of ``canallocate``/``cancreate`` when the provider says no."""
    if ctx.reference:
        raise SimError(500, NOT_AVAILABLE)
    return web.json_response({"config": {}, "info": {"canallocate": False}})


def create_refusal(ctx: SimContext) -> SimError:
    """The error of a create that the provider cannot host."""
    return SimError(500 if ctx.reference else 409, NOT_AVAILABLE)


async def hello(request: web.Request) -> web.Response:
    """``GET /``: the plain-text greeting every C4 server gives."""
    return web.Response(text="hello")


async def health(request: web.Request) -> web.Response:
    """``GET /api/v1.0/health``: the reference implementation's liveness answer."""
    return web.json_response({"status": "UP", "version": "1.0.0"})


def add_common_routes(router: web.UrlDispatcher) -> None:
    """Add the routes all three servers answer alike."""
    router.add_get("/", hello, name="hello")
    router.add_get(f"{API}/health", health, name="health")
