"""``GET /v1/jobs`` and ``GET /v1/jobs/{id}``: how creates and deletes went."""

from __future__ import annotations

from aiohttp import web

from broker.api.context import STORE, json_response, owner_filter
from broker.api.problems import not_found
from broker.api.views import decode_cursor, encode_cursor, job_json, one_of, page_limit

routes = web.RouteTableDef()

JOB_STATUSES = ("queued", "running", "succeeded", "failed")


@routes.get("/v1/jobs")
async def list_jobs(request: web.Request) -> web.Response:
    """A page of the tenant's jobs, oldest first."""
    page = await request.app[STORE].jobs(
        owner_filter(request),
        one_of(request, "status", JOB_STATUSES),
        page_limit(request),
        decode_cursor(request.query.get("cursor")),
    )
    return json_response(
        {
            "items": [job_json(j) for j in page.items],
            "next_cursor": encode_cursor(page.next_after),
        }
    )


@routes.get("/v1/jobs/{id}")
async def show_job(request: web.Request) -> web.Response:
    """One job of the tenant, with every attempt."""
    job = await request.app[STORE].job(request.match_info["id"], owner_filter(request))
    if job is None:
        raise not_found("job")
    return json_response(job_json(job))
