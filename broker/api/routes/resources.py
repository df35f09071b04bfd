"""Create, list, show and delete VMs, volumes and services."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from aiohttp import web

from broker.api.context import (
    RUNNER,
    STORE,
    cached_json,
    json_response,
    owner_filter,
    read_json,
    tenant_of,
    validate,
)
from broker.api.limits import check_fan_out, check_jobs_in_flight, check_volumes
from broker.api.problems import Problem, not_found
from broker.api.views import (
    collection_of,
    decode_cursor,
    encode_cursor,
    one_of,
    page_limit,
    resource_json,
)
from broker.config import SERVICE_KINDS
from broker.placement import Request
from broker.specs import VmCreate, body_model, public_spec
from broker.store import Job, KeyedAnswer, Resource, ResourceFilter, new_id

routes = web.RouteTableDef()

STATUSES = ("creating", "active", "failed", "deleting", "deleted", "missing")
MAX_WAIT_S = 60.0
KEY_STALE_S = 60.0
# Printable ASCII, as for the structured-field string of the IETF draft; the
# bytes of anything else would not survive the round trip through the store.
_KEY = re.compile(r"[ -~]{1,255}")


def kind_of(request: web.Request) -> str:
    """The kind a resource route is about, from its path."""
    path = request.path
    if path.startswith("/v1/vms"):
        return "vm"
    if path.startswith("/v1/volumes"):
        return "volume"
    kind = request.match_info["kind"]
    if kind not in SERVICE_KINDS:
        raise Problem(404, f"No service kind {kind!r}.", code="no-route")
    return kind


@routes.post("/v1/vms")
@routes.post("/v1/volumes")
@routes.post("/v1/services/{kind}")
async def create_resource(request: web.Request) -> web.Response:
    """Accept a create: store the resource and its job, then answer 202 (or 201)."""
    kind = kind_of(request)
    tenant = tenant_of(request)
    wait_s = _wait_seconds(request)
    data = await read_json(request)
    body = validate(body_model(kind), data)

    # A retry is answered as the first request was, whatever changed since
    # (a volume deleted, a registry reloaded): look its key up first.
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        replay = await _reserve_key(request, key, data)
        if replay is not None:
            return replay
    try:
        if isinstance(body, VmCreate):
            await check_volumes(request.app, tenant, body)
        check_fan_out(request.app, Request(kind, body, tenant.client_uuid))
        await check_jobs_in_flight(request.app, tenant)
    except Problem:
        if key is not None:
            await request.app[STORE].release_key(tenant.name, key)
        raise

    resource, job = _new_records(tenant.name, kind, body.name, data, public_spec(body))
    status, headers = 202, {"Location": f"/v1/jobs/{job.id}"}
    answer = resource_json(resource)
    keyed = None
    if key is not None:
        given = None if wait_s else status
        keyed = KeyedAnswer(tenant.name, key, given, answer, headers)
    await request.app[STORE].create(resource, job, keyed)
    request.app[RUNNER].wake()

    if wait_s:
        await request.app[RUNNER].wait(job.id, resource.id, wait_s)
        stored = await request.app[STORE].resource(resource.id)
        assert stored is not None
        answer = resource_json(stored)
        if stored.status == "active":
            status = 201
            headers = {"Location": f"{collection_of(kind)}/{resource.id}"}
        if keyed is not None:
            final = KeyedAnswer(tenant.name, key or "", status, answer, headers)
            await request.app[STORE].remember_answer(final)
    return json_response(answer, status=status, headers=headers)


def _new_records(
    tenant: str, kind: str, name: str, data: Any, spec: dict[str, Any]
) -> tuple[Resource, Job]:
    resource_id, job_id = new_id(), new_id()
    resource = Resource(
        id=resource_id,
        tenant=tenant,
        kind=kind,
        name=name,
        status="creating",
        spec=spec,
        job_id=job_id,
    )
    job = Job(
        id=job_id,
        tenant=tenant,
        operation="create",
        kind=kind,
        resource_id=resource_id,
        state={"body": data},
    )
    return resource, job


async def _reserve_key(
    request: web.Request, key: str, data: Any
) -> web.Response | None:
    if not _KEY.fullmatch(key):
        raise Problem(
            400,
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            code="invalid-key",
        )
    tenant = tenant_of(request)
    canonical = json.dumps([request.path, data], sort_keys=True, separators=(",", ":"))
    fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
    stored = await request.app[STORE].reserve_key(
        tenant.name, key, fingerprint, KEY_STALE_S
    )
    if stored is None:
        return None
    if stored.fingerprint != fingerprint:
        raise Problem(
            422,
            "This Idempotency-Key was used with another request body.",
            code="idempotency-key-reused",
        )
    if stored.status is None and stored.abandoned and stored.resource_id:
        return await _replay_resource(request, stored.resource_id)
    if stored.status is None or stored.body is None:
        raise Problem(
            409,
            "A request with this Idempotency-Key is still being accepted; retry later.",
            code="idempotency-key-in-use",
            headers={"Retry-After": "1"},
        )
    headers = {**stored.headers, "Idempotent-Replayed": "true"}
    return json_response(stored.body, status=stored.status, headers=headers)


async def _replay_resource(request: web.Request, resource_id: str) -> web.Response:
    """Answer for a key whose first request made a resource but never answered."""
    resource = await request.app[STORE].resource(resource_id)
    if resource is None:
        raise not_found()
    headers = {"Location": f"/v1/jobs/{resource.job_id}", "Idempotent-Replayed": "true"}
    return json_response(resource_json(resource), status=202, headers=headers)


def _wait_seconds(request: web.Request) -> float:
    raw = request.query.get("wait")
    if raw is None:
        return 0.0
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_WAIT_S:
        raise Problem(
            400,
            f"wait must be a number of seconds from 0 to {MAX_WAIT_S:g}.",
            code="invalid-query",
            errors=[{"field": "wait", "message": f"Must be from 0 to {MAX_WAIT_S:g}."}],
        )
    return seconds


@routes.get("/v1/vms")
@routes.get("/v1/volumes")
@routes.get("/v1/services/{kind}")
async def list_resources(request: web.Request) -> web.Response:
    """A page of the tenant's resources of one kind."""
    kind = kind_of(request)
    where = ResourceFilter(
        tenant=owner_filter(request),
        kinds=(kind,),
        status=one_of(request, "status", STATUSES),
        provider=request.query.get("provider"),
    )
    limit = page_limit(request)
    after = decode_cursor(request.query.get("cursor"))

    async def render() -> dict[str, Any]:
        page = await request.app[STORE].resources(where, limit, after)
        return {
            "items": [resource_json(r) for r in page.items],
            "next_cursor": encode_cursor(page.next_after),
        }

    return await cached_json(request, render)


async def _owned(request: web.Request) -> Resource:
    kind = kind_of(request)
    resource = await request.app[STORE].resource(
        request.match_info["id"], owner_filter(request)
    )
    if resource is None or resource.kind != kind:
        raise not_found(kind)
    return resource


@routes.get("/v1/vms/{id}")
@routes.get("/v1/volumes/{id}")
@routes.get("/v1/services/{kind}/{id}")
async def show_resource(request: web.Request) -> web.Response:
    """One resource of the tenant."""

    async def render() -> dict[str, Any]:
        return resource_json(await _owned(request))

    return await cached_json(request, render)


@routes.delete("/v1/vms/{id}")
@routes.delete("/v1/volumes/{id}")
@routes.delete("/v1/services/{kind}/{id}")
async def delete_resource(request: web.Request) -> web.Response:
    """Start deleting a resource; repeating it is harmless."""
    resource = await _owned(request)
    if resource.status not in ("deleting", "deleted"):
        # A resource still being created is deleted once its create ends:
        # the delete job waits for that job, which owns the provider calls.
        after = {"after": resource.job_id} if resource.status == "creating" else {}
        job = Job(
            id=new_id(),
            tenant=resource.tenant,
            operation="delete",
            kind=resource.kind,
            resource_id=resource.id,
            state=after,
        )
        await request.app[STORE].start_delete(resource, job)
        request.app[RUNNER].wake()
        resource.status, resource.job_id = "deleting", job.id
    headers = {"Location": f"/v1/jobs/{resource.job_id}"}
    return json_response(resource_json(resource), status=202, headers=headers)
