"""How resources, jobs and pages look in answers, and how cursors are read."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from aiohttp import web

from broker.api.problems import Problem
from broker.store import Job, Resource

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_ID = re.compile(r"^[0-9a-f]{32}$")


def collection_of(kind: str) -> str:
    """The API path of a kind's collection."""
    if kind == "vm":
        return "/v1/vms"
    if kind == "volume":
        return "/v1/volumes"
    return f"/v1/services/{kind}"


def resource_json(resource: Resource) -> dict[str, Any]:
    """A resource as every route returns it."""
    return {
        "id": resource.id,
        "kind": resource.kind,
        "name": resource.name,
        "tenant": resource.tenant,
        "provider": resource.provider,
        "region": resource.region,
        "provider_id": resource.provider_id,
        "status": resource.status,
        "origin": resource.origin,
        "price": resource.price,
        "spec": resource.spec,
        "details": resource.details,
        "job": {"id": resource.job_id, "href": f"/v1/jobs/{resource.job_id}"}
        if resource.job_id
        else None,
        "created_at": resource.created_at,
        "observed_at": resource.observed_at,
    }


def job_json(job: Job) -> dict[str, Any]:
    """A job as ``GET /v1/jobs/{id}`` returns it."""
    return {
        "id": job.id,
        "operation": job.operation,
        "kind": job.kind,
        "resource_id": job.resource_id,
        "status": job.status,
        "provider": job.provider,
        "attempts": [a.as_dict() for a in job.attempts],
        "error": job.error,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }


def encode_cursor(last_id: str | None) -> str | None:
    """An opaque cursor that continues after ``last_id``."""
    if last_id is None:
        return None
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The id a cursor continues after, or a 400 problem."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = ""
    if not _ID.match(value):
        raise Problem(400, "The cursor is not valid.", code="invalid-cursor")
    return value


def page_limit(request: web.Request) -> int:
    """The ``limit`` query parameter, checked."""
    raw = request.query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise Problem(
            400,
            f"limit must be a whole number from 1 to {MAX_LIMIT}.",
            code="invalid-query",
            errors=[{"field": "limit", "message": f"Must be from 1 to {MAX_LIMIT}."}],
        )
    return limit


def one_of(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    """An optional query parameter restricted to a set of values."""
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise Problem(
            400,
            f"{name} must be one of: {', '.join(allowed)}.",
            code="invalid-query",
            errors=[
                {"field": name, "message": f"Must be one of: {', '.join(allowed)}."}
            ],
        )
    return value
