"""The shapes of the broker's answers, as pydantic models.

The routes build their answers as plain dicts (see :mod:`broker.api.views`);
these models describe those dicts for the OpenAPI document and let tests
check that a real answer has exactly the promised shape. Every model forbids
unknown fields, so an answer that grows a field the document does not know
fails those tests instead of drifting silently.

A field that is sometimes absent (never null) is typed ``X |
SkipJsonSchema[None]``: it validates when missing, and the document shows it
as optional but not nullable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from broker.config import Kind

ResourceStatus = Literal[
    "creating", "active", "failed", "deleting", "deleted", "missing"
]
Origin = Literal["broker", "discovered"]
JobStatus = Literal["queued", "running", "succeeded", "failed"]
RejectReason = Literal[
    "no-capacity",
    "over-price",
    "timeout",
    "error",
    "unhealthy",
    "filtered",
    "unsupported",
]
ProviderState = Literal["healthy", "degraded", "ejected", "disabled"]


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _sometimes(description: str) -> Any:
    """A field that is absent rather than null when it does not apply."""
    return Field(default=None, description=description, json_schema_extra=_drop_default)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Price(_Answer):
    """What a resource costs on its provider, per hour and per month."""

    currency: str = Field(description="ISO 4217 code, such as EUR.")
    hourly: float
    monthly: float


class JobLink(_Answer):
    """A pointer to the latest job of a resource."""

    id: str
    href: str = Field(description="The job's path, /v1/jobs/{id}.")


class Resource(_Answer):
    """A VM, volume or service, as every route returns it."""

    id: str = Field(description="The broker's own id; it never changes.")
    kind: Kind
    name: str
    tenant: str
    provider: str | None = Field(description="Registry name; null until placed.")
    region: str | None
    provider_id: str | None = Field(description="The provider's id for it.")
    status: ResourceStatus
    origin: Origin = Field(
        description="broker: created here; discovered: found by the inventory."
    )
    price: Price | None
    spec: dict[str, Any] = Field(description="The create body, without secrets.")
    details: dict[str, Any] = Field(description="The provider's latest view.")
    job: JobLink | None = Field(description="The latest job, if any.")
    created_at: datetime
    observed_at: datetime | None = Field(
        description="When a provider last reported it."
    )


class ResourcePage(_Answer):
    """One page of resources and the cursor of the next one."""

    items: list[Resource]
    next_cursor: str | None = Field(description="Pass as cursor; null at the end.")


class JobAttempt(_Answer):
    """One try of a job on one provider."""

    provider: str
    outcome: str = Field(description="What the try ended in, such as succeeded.")
    detail: str
    at: datetime


class JobError(_Answer):
    """Why a job failed."""

    title: str
    detail: str


class Job(_Answer):
    """A create or delete and how it went."""

    id: str
    operation: Literal["create", "delete"]
    kind: Kind
    resource_id: str
    status: JobStatus
    provider: str | None = Field(description="The provider it runs on, once chosen.")
    attempts: list[JobAttempt]
    error: JobError | None
    created_at: datetime
    updated_at: datetime


class JobPage(_Answer):
    """One page of jobs and the cursor of the next one."""

    items: list[Job]
    next_cursor: str | None


class Candidate(_Answer):
    """A provider that can host the request, with its offer."""

    provider: str
    region: str | None
    price: Price | None = Field(description="Null when the provider quotes none.")
    score: float = Field(description="From 0 to 1; 1 is the best offer.")


class Rejection(_Answer):
    """A provider that cannot host the request, and why."""

    provider: str
    reason: RejectReason
    detail: str


class Placement(_Answer):
    """The answer of a placement dry run."""

    candidates: list[Candidate] = Field(description="Best first.")
    rejected: list[Rejection]
    elapsed_ms: float


class Provider(_Answer):
    """A provider of the registry and the broker's view of its health."""

    name: str
    kinds: list[Kind]
    regions: list[str]
    labels: dict[str, str]
    state: ProviderState
    last_error: str | None
    last_seen: datetime | None
    urls: dict[str, str] | SkipJsonSchema[None] = _sometimes(
        "Admins only: base URL of each server."
    )
    header_names: list[str] | SkipJsonSchema[None] = _sometimes(
        "Admins only: names of the headers sent."
    )


class Providers(_Answer):
    """Every provider of the registry."""

    items: list[Provider]


class Inventory(_Answer):
    """One page of every kind on every provider, and which providers lag."""

    items: list[Resource]
    next_cursor: str | None
    stale_providers: list[str] = Field(
        description="Providers whose last refresh failed or is too old."
    )


class InventorySummary(_Answer):
    """Counts and cost of the active resources."""

    by_provider: dict[str, dict[str, int]] = Field(
        description="For each provider, the count of each kind."
    )
    by_kind: dict[str, int]
    monthly_cost: dict[str, float] = Field(description="Total per currency.")


class ReloadAnswer(_Answer):
    """What a registry reload changed, by provider name."""

    added: list[str]
    removed: list[str]
    changed: list[str]


class FieldError(_Answer):
    """One invalid field of a request."""

    field: str = Field(description="Dotted path, or (body) for the whole body.")
    message: str


class Problem(_Answer):
    """An error answer (RFC 9457 problem details)."""

    type: str = Field(description="/docs#problem-CODE, explained on that page.")
    title: str
    status: int
    detail: str
    errors: list[FieldError] | SkipJsonSchema[None] = _sometimes(
        "Each invalid field, on validation problems."
    )
    request_id: str | SkipJsonSchema[None] = _sometimes(
        "The X-Request-Id of the request."
    )


class Health(_Answer):
    """The liveness answer."""

    status: Literal["ok"]


class Readiness(_Answer):
    """The readiness answer, and what fails when not ready."""

    status: Literal["ready", "unavailable"]
    failing: list[Literal["database", "registry"]] | SkipJsonSchema[None] = _sometimes(
        "Present when unavailable."
    )


PROBLEM_TYPES: dict[str, tuple[int | None, str]] = {
    "invalid-json": (400, "The body could not be parsed as JSON."),
    "invalid-query": (400, "A query parameter is out of range or not allowed."),
    "invalid-cursor": (400, "The cursor was not issued by this broker."),
    "invalid-key": (
        400,
        "The Idempotency-Key header is empty, too long or not printable ASCII.",
    ),
    "bad-request": (400, "The request is malformed in some other way."),
    "unauthorized": (401, "The Authorization header is missing or its key unknown."),
    "forbidden": (403, "The route is for administrators only."),
    "not-found": (404, "No such resource or job, or it belongs to another tenant."),
    "no-route": (404, "No route has this path, or the service kind is unknown."),
    "method-not-allowed": (405, "The path exists but not with this method."),
    "idempotency-key-in-use": (
        409,
        "A request with this Idempotency-Key is still being accepted; retry.",
    ),
    "conflict": (409, "The request conflicts with the current state."),
    "too-large": (413, "The body is over the size limit of 1 MiB."),
    "request-body-too-large": (413, "The body is over the size limit of 1 MiB."),
    "unsupported-media-type": (415, "The body must be sent as application/json."),
    "validation-failed": (422, "The body is not valid; errors names each field."),
    "idempotency-key-reused": (
        422,
        "This Idempotency-Key was first used with another body.",
    ),
    "invalid-registry": (422, "The provider registry file is refused; see errors."),
    "unprocessable-content": (422, "The request is well-formed but not acceptable."),
    "too-many-requests": (429, "Too many requests; wait Retry-After."),
    "rate-limited": (
        429,
        "The tenant is over its requests per minute; wait Retry-After.",
    ),
    "too-many-jobs": (
        429,
        "The tenant has too many creates still running; retry once some have ended.",
    ),
    "fan-out-too-wide": (
        422,
        "The request would ask more providers than the broker's fan-out limit; "
        "narrow it with placement.providers, regions or exclude.",
    ),
    "internal": (500, "The broker failed; the error is logged with the request id."),
    "internal-server-error": (500, "The broker failed in an unexpected way."),
    "service-unavailable": (503, "The broker cannot serve the request right now."),
    "error": (None, "Any other HTTP error, with no more specific type."),
}

RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    Resource,
    ResourcePage,
    Job,
    JobPage,
    Placement,
    Providers,
    Inventory,
    InventorySummary,
    ReloadAnswer,
    Problem,
    Health,
    Readiness,
)
