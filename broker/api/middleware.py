"""The middlewares every request passes: request id and errors, then auth."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from broker import logs
from broker.api.auth import authenticate
from broker.api.context import KEYS, LIMITER, METRICS, REQUEST_ID, TENANT
from broker.api.problems import Problem, from_http_exception
from broker.api.ratelimit import retry_after
from broker.metrics import status_class

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/v1/openapi.json", "/docs"}
)


@web.middleware
async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count every answer and time it, by route template (never by raw path)."""
    started = time.perf_counter()
    response = await handler(request)
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    collectors = request.app[METRICS]
    collectors.http_requests.labels(
        route, request.method, status_class(response.status)
    ).inc()
    elapsed = time.perf_counter() - started
    collectors.http_duration.labels(route, request.method).observe(elapsed)
    quiet = request.method == "GET" and response.status < 400
    log.log(
        logging.DEBUG if quiet else logging.INFO,
        "request method=%s route=%s status=%d elapsed_ms=%.1f",
        request.method,
        route,
        response.status,
        elapsed * 1000,
    )
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every request an id and turn every failure into a problem answer."""
    offered = request.headers.get("X-Request-Id", "")
    request_id = offered if _SAFE_ID.match(offered) else secrets.token_hex(8)
    request[REQUEST_ID] = request_id
    logs.bind(request_id=request_id, tenant=None, job_id=None, provider=None)
    try:
        response = await handler(request)
    except Problem as problem:
        response = problem.response(request_id)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = from_http_exception(exc).response(request_id)
    except Exception:
        log.exception("request failed method=%s path=%s", request.method, request.path)
        response = Problem(
            500, "The broker failed to answer; the error is logged.", code="internal"
        ).response(request_id)
    response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Require a valid API key on /v1 routes, and keep each tenant to its rate."""
    if request.path.startswith("/v1/") and request.path not in PUBLIC_PATHS:
        tenant = authenticate(request.app[KEYS], request)
        request[TENANT] = tenant
        logs.bind(tenant=tenant.name)
        wait = request.app[LIMITER].take(tenant.name, tenant.requests_per_minute)
        if wait is not None:
            raise Problem(
                429,
                f"Over the limit of {tenant.requests_per_minute} requests per minute.",
                code="rate-limited",
                headers={"Retry-After": retry_after(wait)},
            )
    return await handler(request)
