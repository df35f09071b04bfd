"""The operations of the OpenAPI document: every route, its inputs and answers.

Each helper declares one family of routes. An operation lists every status
its route can answer: the success answers it is given, the problems named in
``errors``, and, on every route, 500; on authenticated routes also 401 and
429. Problems are ``application/problem+json`` with the ``Problem`` schema.
"""

from __future__ import annotations

from typing import Any

from broker.config import KINDS, SERVICE_KINDS

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
SCHEMA_REF = "#/components/schemas/{model}"

Doc = dict[str, Any]

_ERROR_TEXT = {
    400: "The query, a header or the body is malformed.",
    401: "No valid API key was sent.",
    403: "The route is for administrators.",
    404: "Not found, or it belongs to another tenant.",
    409: "It conflicts with the current state.",
    413: "The body is over 1 MiB.",
    415: "The body is not application/json.",
    422: "The body is not valid; errors names each field.",
    429: "The tenant is over its request rate.",
    500: "The broker failed; the error is logged under the request id.",
}
_ERROR_HEADERS = {
    401: {"WWW-Authenticate": "The Bearer challenge."},
    409: {"Retry-After": "Seconds to wait before retrying, when retrying helps."},
    429: {"Retry-After": "Seconds to wait before the next request."},
}


def paths() -> Doc:
    """Every path of the API with its operations, in the order of the docs."""
    found: Doc = {}
    found.update(_placement_paths())
    for collection in _COLLECTIONS:
        found.update(_resource_paths(*collection))
    for group in (_job_paths, _inventory_paths, _provider_paths, _system_paths):
        found.update(group())
    return found


def ref(model: str) -> Doc:
    """A reference to a component schema."""
    return {"$ref": SCHEMA_REF.format(model=model)}


def _content(
    description: str, media: str, schema: Doc, headers: dict[str, str] | None = None
) -> Doc:
    answer: Doc = {"description": description, "content": {media: {"schema": schema}}}
    if headers:
        answer["headers"] = _headers(headers)
    return answer


def _json(description: str, model: str, headers: dict[str, str] | None = None) -> Doc:
    return _content(description, JSON, ref(model), headers)


def _text(media: str, description: str) -> Doc:
    return _content(description, media, {"type": "string"})


def _headers(headers: dict[str, str]) -> Doc:
    return {
        name: {"description": text, "schema": {"type": "string"}}
        for name, text in headers.items()
    }


def _problem(status: int, description: str | None = None) -> Doc:
    text = description or _ERROR_TEXT[status]
    return _content(text, PROBLEM_JSON, ref("Problem"), _ERROR_HEADERS.get(status))


def _operation(
    op_id: str,
    tag: str,
    summary: str,
    description: str,
    answers: Doc,
    *,
    errors: dict[int, str | None] | None = None,
    params: list[Doc] | None = None,
    body: str | None = None,
    public: bool = False,
) -> Doc:
    statuses = dict(errors or {})
    if not public:
        statuses.setdefault(401, None)
        statuses.setdefault(429, None)
    statuses.setdefault(500, None)
    responses = dict(answers)
    for status in sorted(statuses):
        responses[str(status)] = _problem(status, statuses[status])
    operation: Doc = {
        "operationId": op_id,
        "summary": summary,
        "description": description,
        "tags": [tag],
    }
    if public:
        operation["security"] = []
    if params:
        operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": ref(body)}},
        }
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def _param(where: str, name: str, schema: Doc, text: str) -> Doc:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": text,
        "schema": schema,
    }


def _enum(values: tuple[str, ...]) -> Doc:
    return {"type": "string", "enum": list(values)}


def _page_params(statuses: tuple[str, ...]) -> list[Doc]:
    return [
        _param("query", "status", _enum(statuses), "Only this status."),
        _param("query", "limit", _LIMIT, "Items per page, 100 by default."),
        _param("query", "cursor", {"type": "string"}, "A next_cursor."),
    ]


_LIMIT = {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
_RESOURCE_STATUSES = ("creating", "active", "failed", "deleting", "deleted", "missing")
_JOB_STATUSES = ("queued", "running", "succeeded", "failed")
_ID = _param("path", "id", {"type": "string"}, "The broker's id.")
_PROVIDER = _param("query", "provider", {"type": "string"}, "Only this one.")
_SERVICE_KIND = _param(
    "path",
    "kind",
    _enum(SERVICE_KINDS),
    "The kind of service.",
)
_WAIT = _param(
    "query",
    "wait",
    {"type": "number", "minimum": 0, "maximum": 60},
    "Seconds to wait for the job to succeed before answering.",
)
_IDEMPOTENCY_KEY = _param(
    "header",
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    "Makes retries safe: the same key and body replay the first answer. "
    "Printable ASCII only.",
)

_COLLECTIONS: tuple[tuple[str, str, str, str, str], ...] = (
    ("/v1/vms", "Vm", "VMs", "VM", "VmCreate"),
    ("/v1/volumes", "Volume", "Volumes", "volume", "VolumeCreate"),
    ("/v1/services/{kind}", "Service", "Services", "service", "ServiceCreate"),
)
_CREATE_TEXT = (
    "Validates the body, durably stores the resource and its create job, and "
    "answers 202 with the resource (status creating) and the job's Location. "
    "With wait, the answer is held up to that many seconds: 201 with the "
    "resource and its own Location when the job succeeded in time, else 202. "
    "With Idempotency-Key, the same key and body replay the first answer "
    "(header Idempotent-Replayed: true), the same key with another body is "
    "422, and a retry while the first is still being accepted is 409."
)
_DELETE_TEXT = (
    "Starts a delete job and answers 202 with the resource (status deleting) "
    "and the job's Location. Deleting a resource already deleting or deleted "
    "answers 202 again. A resource still being created is deleted as soon as "
    "its create job ends: the delete job waits for it."
)


def _resource_paths(base: str, op: str, tag: str, noun: str, body: str) -> Doc:
    scope = [_SERVICE_KIND] if "{kind}" in base else []
    missing_kind: dict[int, str | None] = (
        {404: "No such service kind."} if scope else {}
    )
    replayed = {"Idempotent-Replayed": "true when this answer is a replay."}
    created = _json(
        f"The {noun} is active; waited for with wait.",
        "Resource",
        {"Location": f"The {noun}'s path.", **replayed},
    )
    accepted = _json(
        f"The {noun} is being created.",
        "Resource",
        {"Location": "The create job's path.", **replayed},
    )
    collection = {
        "get": _operation(
            f"list{op}s",
            tag,
            f"List {noun}s",
            f"A page of the caller's {noun}s, oldest first.",
            {"200": _json(f"A page of {noun}s.", "ResourcePage")},
            errors={400: None, **missing_kind},
            params=[*scope, *_page_params(_RESOURCE_STATUSES), _PROVIDER],
        ),
        "post": _operation(
            f"create{op}",
            tag,
            f"Create a {noun}",
            _CREATE_TEXT,
            {"201": created, "202": accepted},
            errors={
                400: None,
                **missing_kind,
                409: "This Idempotency-Key is still being accepted.",
                413: None,
                415: None,
                422: "The body is not valid, or the Idempotency-Key was reused.",
            },
            params=[*scope, _WAIT, _IDEMPOTENCY_KEY],
            body=body,
        ),
    }
    deleting = _json(
        f"The {noun} is being deleted.",
        "Resource",
        {"Location": "The delete job's path."},
    )
    item = {
        "get": _operation(
            f"get{op}",
            tag,
            f"Show a {noun}",
            f"One {noun} of the caller.",
            {"200": _json(f"The {noun}.", "Resource")},
            errors={404: f"No such {noun}."},
            params=[*scope, _ID],
        ),
        "delete": _operation(
            f"delete{op}",
            tag,
            f"Delete a {noun}",
            _DELETE_TEXT,
            {"202": deleting},
            errors={404: f"No such {noun}."},
            params=[*scope, _ID],
        ),
    }
    return {base: collection, f"{base}/{{id}}": item}


def _placement_paths() -> Doc:
    place = _operation(
        "placeRequest",
        "Placement",
        "Rank the providers for a request",
        "A dry run: asks every eligible provider for a quote at once and ranks "
        "the offers, best first. Nothing is created. Every provider that is "
        "not a candidate is listed with the reason.",
        {"200": _json("The candidates and the rejected providers.", "Placement")},
        errors={400: None, 413: None, 415: None, 422: None},
        body="PlacementQuery",
    )
    return {"/v1/placements": {"post": place}}


def _job_paths() -> Doc:
    listing = _operation(
        "listJobs",
        "Jobs",
        "List jobs",
        "A page of the caller's jobs, oldest first.",
        {"200": _json("A page of jobs.", "JobPage")},
        errors={400: None},
        params=_page_params(_JOB_STATUSES),
    )
    show = _operation(
        "getJob",
        "Jobs",
        "Show a job",
        "One job of the caller, with every attempt.",
        {"200": _json("The job.", "Job")},
        errors={404: "No such job."},
        params=[_ID],
    )
    return {"/v1/jobs": {"get": listing}, "/v1/jobs/{id}": {"get": show}}


_TENANT = _param(
    "query",
    "tenant",
    {"type": "string"},
    "Only this tenant's resources. Admins may name any tenant; a tenant "
    "naming another is refused with 403.",
)
_OTHER_TENANT = "The tenant named another tenant."


def _inventory_paths() -> Doc:
    filters = [
        _param("query", "kind", _enum(KINDS), "Only this kind."),
        _PROVIDER,
        _param(
            "query",
            "origin",
            _enum(("broker", "discovered")),
            "Only this origin.",
        ),
        *_page_params(_RESOURCE_STATUSES),
        _TENANT,
    ]
    listing = _operation(
        "listInventory",
        "Inventory",
        "List every resource",
        "Every kind on every provider in one list, including resources the "
        "inventory discovered. stale_providers names the providers whose last "
        "refresh failed or is older than twice the refresh interval.",
        {"200": _json("A page of resources.", "Inventory")},
        errors={400: None, 403: _OTHER_TENANT},
        params=filters,
    )
    summary = _operation(
        "getInventorySummary",
        "Inventory",
        "Count the active resources",
        "Counts by provider and kind, and the monthly cost per currency, of "
        "the active resources.",
        {"200": _json("The counts and costs.", "InventorySummary")},
        errors={403: _OTHER_TENANT},
        params=[_TENANT],
    )
    return {
        "/v1/inventory": {"get": listing},
        "/v1/inventory/summary": {"get": summary},
    }


def _provider_paths() -> Doc:
    listing = _operation(
        "listProviders",
        "Providers",
        "List the providers",
        "Every provider in the registry with its health. Admins also see the "
        "base URLs and the names of the headers sent; header values never "
        "leave the broker.",
        {"200": _json("The providers.", "Providers")},
    )
    reload = _operation(
        "reloadRegistry",
        "Admin",
        "Reload the provider registry",
        "Reads providers.yaml again. A broken file is refused as a whole and "
        "the registry in force stays.",
        {"200": _json("What changed.", "ReloadAnswer")},
        errors={403: None, 422: "The registry file is not valid; see errors."},
    )
    return {"/v1/providers": {"get": listing}, "/v1/admin/reload": {"post": reload}}


_PUBLIC_OPERATIONS: tuple[tuple[str, str, str, str, Doc], ...] = (
    (
        "/healthz",
        "getHealth",
        "Liveness",
        "Answers while the process runs.",
        {"200": _json("Alive.", "Health")},
    ),
    (
        "/readyz",
        "getReadiness",
        "Readiness",
        "Ready when the database answers and a registry is loaded.",
        {
            "200": _json("Ready.", "Readiness"),
            "503": _json("Not ready; failing says why.", "Readiness"),
        },
    ),
    (
        "/metrics",
        "getMetrics",
        "Prometheus metrics",
        "Metrics in the Prometheus text format, named c4broker_*; durations "
        "are histograms in seconds, and series about a provider carry the "
        "label provider.",
        {"200": _text("text/plain", "The metrics.")},
    ),
    (
        "/v1/openapi.json",
        "getOpenApi",
        "This OpenAPI document",
        "The OpenAPI 3.1 document of the whole API.",
        {"200": _content("The document.", JSON, {"type": "object"})},
    ),
    (
        "/docs",
        "getDocs",
        "API documentation page",
        "A self-contained HTML page rendered from this document.",
        {"200": _text("text/html", "The page.")},
    ),
)


def _system_paths() -> Doc:
    return {
        path: {"get": _operation(op_id, "System", summary, text, answers, public=True)}
        for path, op_id, summary, text, answers in _PUBLIC_OPERATIONS
    }
