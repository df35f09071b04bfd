"""The OpenAPI document and the /docs page describe exactly the routes served."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from tests.conftest import Broker, BrokerFactory, SimFactory

import broker as broker_package
from broker.api import schemas
from broker.api.middleware import PUBLIC_PATHS
from broker.api.openapi import document
from broker.api.problems import Problem
from broker.config import SERVICE_KINDS

VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}
METHODS = ("get", "post", "put", "patch", "delete")

# Documented in API.md and in the document, but being built by others. Each
# entry must leave this set the day its route is registered: the test that
# uses it fails as soon as one of them appears in the app.
PENDING_ROUTES: frozenset[tuple[str, str]] = frozenset()
API_PACKAGE = Path(__file__).parents[2] / "broker" / "api"


def registered_routes(broker: Broker) -> set[tuple[str, str]]:
    """Method and path template of every route the app serves (HEAD aside)."""
    found = set()
    for route in broker.client.app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        template = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.resource.canonical)
        found.add((route.method, template))
    return found


def documented_routes() -> set[tuple[str, str]]:
    """Method and path of every operation in the document."""
    return {
        (method.upper(), path)
        for path, item in document()["paths"].items()
        for method in METHODS
        if method in item
    }


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every operation of the document with its method and path."""
    for path, item in document()["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def conform(
    method: str, path: str, status: int, content_type: str, body: Any
) -> BaseModel:
    """Check an answer against the document; the model it was parsed into."""
    responses = document()["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} does not document {status}"
    content = responses[str(status)]["content"]
    assert content_type in content, f"{method} {path} {status}: {content_type}"
    name = content[content_type]["schema"]["$ref"].rsplit("/", 1)[-1]
    model: type[BaseModel] = getattr(schemas, name)
    return model.model_validate(body)


async def answer(broker: Broker, method: str, path: str, **kwargs: Any) -> Any:
    """Call as the tenant; status, content type and decoded JSON body."""
    headers = {**broker.auth(kwargs.pop("who", "acme")), **kwargs.pop("headers", {})}
    async with broker.client.request(method, path, headers=headers, **kwargs) as resp:
        return resp.status, resp.content_type, await resp.json(content_type=None)


async def test_document_is_public_openapi_31(broker_factory: BrokerFactory) -> None:
    """GET /v1/openapi.json answers without a key with an OpenAPI 3.1.0 document."""
    broker = await broker_factory([])
    async with broker.client.get("/v1/openapi.json") as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        served = await resp.json()
    assert served["openapi"] == "3.1.0"
    assert served["info"]["title"] == "C4 broker API"
    assert served["info"]["version"] == broker_package.__version__
    assert served["servers"] == [{"url": "/"}]
    assert served["paths"].keys() == document()["paths"].keys()


async def test_every_registered_route_is_documented(
    broker_factory: BrokerFactory,
) -> None:
    """Each route of the aiohttp app appears in the document with its method."""
    broker = await broker_factory([])
    missing = registered_routes(broker) - documented_routes()
    assert not missing, f"routes served but not documented: {sorted(missing)}"


async def test_every_documented_operation_is_registered(
    broker_factory: BrokerFactory,
) -> None:
    """Each documented operation is served, but for the pending ones listed."""
    broker = await broker_factory([])
    registered = registered_routes(broker)
    arrived = PENDING_ROUTES & registered
    assert not arrived, f"served now, remove from PENDING_ROUTES: {sorted(arrived)}"
    assert documented_routes() >= PENDING_ROUTES
    missing = documented_routes() - PENDING_ROUTES - registered
    assert not missing, f"documented but not served: {sorted(missing)}"


def test_every_ref_resolves() -> None:
    """Every $ref in the document names something the document holds."""
    doc = document()

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = list(refs(doc))
    assert found
    for ref in found:
        assert ref.startswith("#/"), ref
        target: Any = doc
        for key in ref[2:].split("/"):
            assert key in target, f"{ref} does not resolve"
            target = target[key]


def test_security_matches_the_public_routes() -> None:
    """Every /v1 route needs the bearer key but the public ones, which need none."""
    doc = document()
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A tenant's API key from broker.yaml.",
    }
    for method, path, op in operations():
        if path in PUBLIC_PATHS:
            assert op.get("security") == [], (method, path)
        else:
            assert path.startswith("/v1/"), path
            assert "security" not in op, (method, path)
            assert "401" in op["responses"], (method, path)


def test_operations_are_complete() -> None:
    """Each operation has a unique id, a summary, a tag and typed answers."""
    ids = [op["operationId"] for _, _, op in operations()]
    assert len(ids) == len(set(ids))
    tags = {t["name"] for t in document()["tags"]}
    for method, path, op in operations():
        assert op["summary"], (method, path)
        assert op["description"], (method, path)
        assert set(op["tags"]) <= tags, (method, path)
        for status, response in op["responses"].items():
            assert response["description"], (method, path, status)
            assert response["content"], (method, path, status)
            if int(status) >= 400 and path != "/readyz":
                assert list(response["content"]) == ["application/problem+json"]
            if status in ("201", "202"):
                assert "Location" in response["headers"], (method, path, status)
        body = op.get("requestBody")
        if body is not None:
            assert body["required"] is True
            assert list(body["content"]) == ["application/json"]


def test_service_kind_is_an_enum_of_the_six_kinds() -> None:
    """The {kind} of /v1/services is a required path enum of the service kinds."""
    for method, path, op in operations():
        if not path.startswith("/v1/services/"):
            continue
        kind = next(p for p in op["parameters"] if p["name"] == "kind")
        assert kind["in"] == "path"
        assert kind["required"] is True
        assert kind["schema"]["enum"] == list(SERVICE_KINDS), (method, path)


def test_placement_spec_follows_kind() -> None:
    """The placement query types its spec by its kind, for every kind."""
    query = document()["components"]["schemas"]["PlacementQuery"]
    typed = {
        rule["if"]["properties"]["kind"]["const"]: rule["then"]["properties"]["spec"]
        for rule in query["allOf"]
    }
    assert set(typed) == {"vm", "volume", *SERVICE_KINDS}
    assert typed["vm"] == {"$ref": "#/components/schemas/VmCreate"}
    assert typed["s3"] == {"$ref": "#/components/schemas/ServiceCreate"}


def test_creates_take_wait_and_idempotency_key() -> None:
    """Create operations document wait (0..60) and the Idempotency-Key header."""
    creates = [op for _, path, op in operations() if op["operationId"][:6] == "create"]
    assert len(creates) == 3
    for op in creates:
        params = {p["name"]: p for p in op["parameters"]}
        assert params["wait"]["schema"]["maximum"] == 60
        assert params["Idempotency-Key"]["in"] == "header"
        assert {"201", "202", "409", "422"} <= op["responses"].keys()


def used_problem_codes() -> set[str]:
    """Every code="..." given to a problem anywhere in broker/api."""
    codes = set()
    for source in API_PACKAGE.rglob("*.py"):
        codes.update(re.findall(r'\bcode="([a-z0-9-]+)"', source.read_text()))
    return codes


def test_every_problem_code_is_documented() -> None:
    """Each code the API can put in a problem's type has an entry in the document."""
    documented = {p["code"] for p in document()["x-problem-types"]}
    undocumented = used_problem_codes() - documented
    assert not undocumented, f"add to schemas.PROBLEM_TYPES: {sorted(undocumented)}"
    statuses = (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500, 503, 418)
    defaults = {Problem(status, "Detail.").code for status in statuses}
    assert defaults <= documented


async def test_docs_page_is_self_contained(broker_factory: BrokerFactory) -> None:
    """/docs is public HTML naming every path, fetching nothing from elsewhere."""
    broker = await broker_factory([])
    async with broker.client.get("/docs") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
        page = await resp.text()
    assert "http://" not in page
    assert "https://" not in page
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?//""", page)
    for path in document()["paths"]:
        assert f"<code>{path}</code>" in page, path
    for code in {p["code"] for p in document()["x-problem-types"]}:
        assert f'id="problem-{code}"' in page, code


async def test_resource_answers_conform(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A created VM, the VM list and the VM itself parse as documented."""
    broker = await broker_factory([await sim_factory("sim-a")])

    status, ctype, created = await answer(broker, "POST", "/v1/vms?wait=5", json=VM)
    conform("POST", "/v1/vms", status, ctype, created)
    status, ctype, page = await answer(broker, "GET", "/v1/vms")
    parsed = conform("GET", "/v1/vms", status, ctype, page)
    assert isinstance(parsed, schemas.ResourcePage)
    assert [r.id for r in parsed.items] == [created["id"]]
    status, ctype, shown = await answer(broker, "GET", f"/v1/vms/{created['id']}")
    conform("GET", "/v1/vms/{id}", status, ctype, shown)


async def test_job_answers_conform(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A job and the job list parse as documented."""
    broker = await broker_factory([await sim_factory("sim-a")])
    _, _, created = await answer(broker, "POST", "/v1/vms?wait=5", json=VM)

    status, ctype, job = await answer(broker, "GET", created["job"]["href"])
    parsed = conform("GET", "/v1/jobs/{id}", status, ctype, job)
    assert isinstance(parsed, schemas.Job)
    assert parsed.attempts
    status, ctype, jobs = await answer(broker, "GET", "/v1/jobs")
    conform("GET", "/v1/jobs", status, ctype, jobs)


async def test_placement_answer_conforms(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A placement with a candidate and a rejected provider parses as documented."""
    sims = [await sim_factory("sim-a"), await sim_factory("sim-b")]
    broker = await broker_factory(sims)
    query = {"kind": "vm", "spec": {**VM, "placement": {"exclude": ["sim-b"]}}}

    status, ctype, placed = await answer(broker, "POST", "/v1/placements", json=query)
    parsed = conform("POST", "/v1/placements", status, ctype, placed)
    assert isinstance(parsed, schemas.Placement)
    assert [c.provider for c in parsed.candidates] == ["sim-a"]
    assert [r.reason for r in parsed.rejected] == ["filtered"]


async def test_problem_answers_conform(broker_factory: BrokerFactory) -> None:
    """A 404 and a 422 with errors parse as the documented Problem."""
    broker = await broker_factory([])

    status, ctype, missing = await answer(broker, "GET", "/v1/vms/" + "0" * 32)
    parsed = conform("GET", "/v1/vms/{id}", status, ctype, missing)
    assert isinstance(parsed, schemas.Problem)
    assert (parsed.status, parsed.type) == (404, "/docs#problem-not-found")
    status, ctype, invalid = await answer(broker, "POST", "/v1/vms", json={"name": 1})
    parsed = conform("POST", "/v1/vms", status, ctype, invalid)
    assert isinstance(parsed, schemas.Problem)
    assert parsed.errors


@pytest.mark.parametrize("who", ["acme", "ops"])
async def test_provider_list_conforms(
    sim_factory: SimFactory, broker_factory: BrokerFactory, who: str
) -> None:
    """The provider list parses as documented, for a tenant and for an admin."""
    broker = await broker_factory([await sim_factory("sim-a")])

    status, ctype, providers = await answer(broker, "GET", "/v1/providers", who=who)
    parsed = conform("GET", "/v1/providers", status, ctype, providers)
    assert isinstance(parsed, schemas.Providers)
    admin_only = parsed.items[0].urls is not None
    assert admin_only is (who == "ops")


async def test_health_answers_conform(broker_factory: BrokerFactory) -> None:
    """/healthz and /readyz answer as documented, without a key."""
    broker = await broker_factory([])
    for path in ("/healthz", "/readyz"):
        async with broker.client.get(path) as resp:
            body = await resp.json()
            conform("GET", path, resp.status, resp.content_type, body)


async def test_inventory_answer_conforms(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """An inventory page holding a created VM parses as documented."""
    broker = await broker_factory([await sim_factory("sim-a")])
    await answer(broker, "POST", "/v1/vms?wait=5", json=VM)

    status, ctype, page = await answer(broker, "GET", "/v1/inventory")
    parsed = conform("GET", "/v1/inventory", status, ctype, page)
    assert isinstance(parsed, schemas.Inventory)
    assert len(parsed.items) == 1


async def test_inventory_summary_conforms(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """The inventory summary parses as documented."""
    broker = await broker_factory([await sim_factory("sim-a")])
    await answer(broker, "POST", "/v1/vms?wait=5", json=VM)

    status, ctype, totals = await answer(broker, "GET", "/v1/inventory/summary")
    parsed = conform("GET", "/v1/inventory/summary", status, ctype, totals)
    assert isinstance(parsed, schemas.InventorySummary)


async def test_reload_answers_conform(broker_factory: BrokerFactory) -> None:
    """A reload answers as documented for an admin, and 403 for a tenant."""
    broker = await broker_factory([])

    status, ctype, diff = await answer(broker, "POST", "/v1/admin/reload", who="ops")
    assert isinstance(
        conform("POST", "/v1/admin/reload", status, ctype, diff), schemas.ReloadAnswer
    )
    status, ctype, refused = await answer(broker, "POST", "/v1/admin/reload")
    parsed = conform("POST", "/v1/admin/reload", status, ctype, refused)
    assert isinstance(parsed, schemas.Problem)
    assert parsed.status == 403
