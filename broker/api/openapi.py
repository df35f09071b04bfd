"""The OpenAPI 3.1 document of the broker's HTTP API, built once from the models.

Component schemas come from the pydantic models themselves: the create
bodies of :mod:`broker.specs`, the placement query, and the answers of
:mod:`broker.api.schemas`. The operations are declared in
:mod:`broker.api.openapi_ops`, each with every status it can answer. The
problem codes the API puts in ``type`` travel in the document as
``x-problem-types`` so that the ``/docs`` page can explain each one.
"""

from __future__ import annotations

import functools
import json

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

import broker
from broker.api import schemas
from broker.api.openapi_ops import SCHEMA_REF, Doc, paths, ref
from broker.api.routes.placements import PlacementQuery
from broker.config import SERVICE_KINDS
from broker.specs import ServiceCreate, VmCreate, VolumeCreate

OPENAPI_VERSION = "3.1.0"

REQUEST_MODELS: tuple[type[BaseModel], ...] = (
    VmCreate,
    VolumeCreate,
    ServiceCreate,
    PlacementQuery,
)

TAGS: tuple[tuple[str, str], ...] = (
    ("Placement", "Where a request could run, and at what price, right now."),
    ("VMs", "Virtual machines."),
    ("Volumes", "Block storage volumes."),
    ("Services", "PaaS and SaaS services, one collection per service kind."),
    ("Jobs", "The creates and deletes the broker runs for you."),
    ("Inventory", "Everything on every provider, in one list."),
    ("Providers", "The registry of providers and their health."),
    ("Admin", "Operator routes; they need an admin key."),
    ("System", "Health, readiness, metrics and this documentation."),
)

_DESCRIPTION = (
    "The C4 broker places, creates and tracks VMs, volumes and services on "
    "many C4 cloud providers.\n\n"
    "Every /v1 route but /v1/openapi.json needs `Authorization: Bearer KEY`. "
    "A tenant sees only its own resources and jobs; an admin sees all of "
    "them. Errors are application/problem+json (RFC 9457); their `type` "
    "names an entry of the Problem types section of /docs. Every answer "
    "carries an X-Request-Id header, which is also sent back when the "
    "request offers a well-formed one."
)


@functools.cache
def document() -> Doc:
    """The OpenAPI document, built on first use; shared, so never modify it."""
    return build_document()


@functools.cache
def document_json() -> bytes:
    """The OpenAPI document serialised as JSON."""
    return json.dumps(document(), separators=(",", ":")).encode()


def build_document() -> Doc:
    """A freshly built OpenAPI document of the whole HTTP API."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "C4 broker API",
            "version": broker.__version__,
            "description": _DESCRIPTION,
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "paths": paths(),
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A tenant's API key from broker.yaml.",
                }
            },
        },
        "x-problem-types": [
            {"code": code, "status": status, "description": text}
            for code, (status, text) in schemas.PROBLEM_TYPES.items()
        ],
    }


def component_schemas() -> Doc:
    """Every request and answer model as JSON Schema, keyed by model name."""
    mode: JsonSchemaMode = "validation"
    models = [(m, mode) for m in (*REQUEST_MODELS, *schemas.RESPONSE_MODELS)]
    _, top = models_json_schema(models, ref_template=SCHEMA_REF)
    found: Doc = dict(top["$defs"])
    found["PlacementQuery"] = _placement_query(found["PlacementQuery"])
    return found


def _placement_query(schema: Doc) -> Doc:
    """The placement query with ``spec`` typed by ``kind``, not a free object."""
    bodies = {"vm": "VmCreate", "volume": "VolumeCreate"}
    bodies.update(dict.fromkeys(SERVICE_KINDS, "ServiceCreate"))
    spec = schema["properties"]["spec"]
    schema["properties"]["spec"] = {
        "title": spec.get("title", "Spec"),
        "description": (
            "The create body of the kind: VmCreate for vm, VolumeCreate for "
            "volume, ServiceCreate for a service kind."
        ),
        "anyOf": [ref(name) for name in dict.fromkeys(bodies.values())],
    }
    schema["allOf"] = [
        {
            "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
            "then": {"properties": {"spec": ref(name)}},
        }
        for kind, name in bodies.items()
    ]
    return schema
