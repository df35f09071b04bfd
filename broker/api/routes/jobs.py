"""``GET /v1/jobs`` and ``GET /v1/jobs/{id}``: how creates and deletes went."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from broker.api.context import STORE, cached_json, owner_filter
from broker.api.problems import not_found
from broker.api.views import decode_cursor, encode_cursor, job_json, one_of, page_limit

routes = web.RouteTableDef()

JOB_STATUSES = ("queued", "running", "succeeded", "failed")


@routes.get("/v1/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    """A page of the tenant's jobs, oldest first."""
    status = one_of(request, "status", JOB_STATUSES)
    limit = page_limit(request)
    after = decode_cursor(request.query.get("cursor"))

    async def render() -> dict[str, Any]:
        page = await request.app[STORE].jobs(
            owner_filter(request), status, limit, after
        )
        return {
            "items": [job_json(j) for j in page.items],
            "next_cursor": encode_cursor(page.next_after),
        }

    return await cached_json(request, render)


@routes.get("/v1/jobs/{id}")
async def show_job(request: web.Request) -> web.Response:
    """One job of the tenant, with every attempt."""

    async def render() -> dict[str, Any]:
        job = await request.app[STORE].job(
            request.match_info["id"], owner_filter(request)
        )
        if job is None:
            raise not_found("job")
        return job_json(job)

    return await cached_json(request, render)
