"""What handlers share: typed application keys and request helpers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from broker import jsontext
from broker.api.auth import KeyRing, Tenant
from broker.api.cache import ReadCache
from broker.api.keys import KeyPurger
from broker.api.problems import Problem, validation_problem
from broker.api.ratelimit import RateLimiter
from broker.config import LoadedConfig
from broker.inventory import Inventory
from broker.jobs import JobRunner
from broker.metrics import Metrics
from broker.placement import Placer
from broker.providers import Providers
from broker.reload import RegistryReloader
from broker.store import Store

M = TypeVar("M", bound=BaseModel)

CONFIG = web.AppKey("config", LoadedConfig)
KEYS = web.AppKey("keys", KeyRing)
STORE = web.AppKey("store", Store)
PROVIDERS = web.AppKey("providers", Providers)
PLACER = web.AppKey("placer", Placer)
RUNNER = web.AppKey("runner", JobRunner)
INVENTORY = web.AppKey("inventory", Inventory)
RELOADER = web.AppKey("reloader", RegistryReloader)
RELOAD_ON_SIGHUP = web.AppKey("reload_on_sighup", bool)
PURGER = web.AppKey("purger", KeyPurger)
METRICS = web.AppKey("metrics", Metrics)
LIMITER = web.AppKey("limiter", RateLimiter)
READ_CACHE = web.AppKey("read_cache", ReadCache)

TENANT = web.RequestKey("tenant", Tenant)
REQUEST_ID = web.RequestKey("request_id", str)


def tenant_of(request: web.Request) -> Tenant:
    """The authenticated tenant (set by the auth middleware on every /v1 route)."""
    return request[TENANT]


def owner_filter(request: web.Request) -> str | None:
    """The tenant name to restrict queries to, or None for an admin."""
    tenant = tenant_of(request)
    return None if tenant.is_admin else tenant.name


async def read_json(request: web.Request) -> Any:
    """The request body as JSON, or a 400/415 problem."""
    if request.content_type not in ("application/json", "application/merge-patch+json"):
        raise Problem(
            415, "Send the body as application/json.", code="unsupported-media-type"
        )
    raw = await request.read()
    try:
        return jsontext.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise Problem(
            400,
            "The body is not valid JSON.",
            code="invalid-json",
            errors=[{"field": "(body)", "message": _json_error(exc)}],
        ) from exc


def _json_error(exc: Exception) -> str:
    """What is wrong with a body that did not decode."""
    if isinstance(exc, json.JSONDecodeError):
        return f"Invalid JSON at position {exc.pos}."
    if isinstance(exc, UnicodeDecodeError):
        return f"Invalid UTF-8 at byte {exc.start}."
    if isinstance(exc, RecursionError):
        return "The JSON is nested too deeply."
    return (
        "NaN, Infinity, numbers beyond a double's range and numbers of over"
        " 4300 digits are refused."
    )


async def parse_body(request: web.Request, model: type[M]) -> M:
    """The request body validated by a model, or a problem listing every error."""
    data = await read_json(request)
    return validate(model, data)


def validate(model: type[M], data: Any, prefix: str = "") -> M:
    """Data validated by a model, or a 422 problem listing every error."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc, prefix) from exc


async def cached_json(
    request: web.Request, render: Callable[[], Awaitable[Any]]
) -> web.Response:
    """A read route's answer, from the cache while the store has not changed."""
    cache = request.app[READ_CACHE]
    key = (owner_filter(request) or "*", request.path_qs)
    body = cache.get(key)
    if body is None:
        generation = cache.generation()
        body = _encode(await render())
        cache.put(key, generation, body)
    return web.Response(body=body, content_type="application/json")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON answer."""
    return web.Response(
        status=status,
        body=_encode(data),
        content_type="application/json",
        headers=headers,
    )


def _encode(data: Any) -> bytes:
    # JSON is UTF-8 by definition: every answer says application/json alone.
    # No NaN or Infinity can be stored, and none may ever leave as "JSON".
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode()
