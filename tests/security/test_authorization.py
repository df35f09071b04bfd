"""Authorization on every route, walked from the OpenAPI document.

Each documented /v1 operation is called without a key (401), admin routes
with a tenant key (403), routes naming one resource or job with another
tenant's id (404), and listings with another tenant's cursor (nothing of
theirs). A route the walk cannot classify fails the test, so a new route
cannot be added without being checked here.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import Broker, BrokerFactory, SimFactory

PUBLIC = {"/v1/openapi.json"}
CONTRACT_ROUTES = (
    {
        f"{verb} {path}"
        for path in ("/v1/vms", "/v1/volumes", "/v1/services/{kind}")
        for verb in ("GET", "POST")
    }
    | {
        f"{verb} {path}/{{id}}"
        for path in ("/v1/vms", "/v1/volumes", "/v1/services/{kind}")
        for verb in ("GET", "DELETE")
    }
    | {
        "POST /v1/placements",
        "GET /v1/jobs",
        "GET /v1/jobs/{id}",
        "GET /v1/inventory",
        "GET /v1/inventory/summary",
        "GET /v1/providers",
        "POST /v1/admin/reload",
    }
)
VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}


async def acme_estate(broker: Broker) -> dict[str, str]:
    """Resources and jobs that belong to acme, one per kind of id."""
    ids: dict[str, str] = {}
    for path, body in (
        ("/v1/vms", VM),
        ("/v1/volumes", {"name": "d", "size_gib": 1}),
        ("/v1/services/s3", {"name": "b"}),
    ):
        for _ in range(2):
            status, created = await broker.call("POST", f"{path}?wait=5", json=body)
            assert status == 201, created
        ids[path] = created["id"]
        ids["/v1/jobs"] = created["job"]["id"]
    return ids


def concrete(path: str, ids: dict[str, str]) -> str:
    """The documented path with acme's ids in its placeholders."""
    path = path.replace("{kind}", "s3")
    if "{id}" in path:
        collection = path.rsplit("/", 1)[0]
        path = path.replace("{id}", ids[collection])
    return path


async def test_every_documented_route_is_guarded(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """No key: 401; tenant on admin: 403; another's id: 404; cursors leak nothing."""
    broker = await broker_factory([await sim_factory()])
    ids = await acme_estate(broker)
    async with broker.client.get("/v1/openapi.json") as resp:
        document = await resp.json()

    checked: list[str] = []
    for template, operations in document["paths"].items():
        if not template.startswith("/v1/") or template in PUBLIC:
            continue
        for method in operations:
            path = concrete(template, ids)
            verb = method.upper()
            async with broker.client.request(verb, path) as resp:
                assert resp.status == 401, f"{verb} {template} without a key"
            await check_route(broker, verb, template, path, ids)
            checked.append(f"{verb} {template}")
    assert set(checked) >= CONTRACT_ROUTES


async def check_route(
    broker: Broker, verb: str, template: str, path: str, ids: dict[str, str]
) -> None:
    """One operation as globex (or as a plain tenant on admin routes)."""
    owned = set(ids.values())
    if template.startswith("/v1/admin/"):
        status, _ = await broker.call(verb, path, who="acme")
        assert status == 403, f"{verb} {template} with a tenant key"
        return
    if "{id}" in template:
        status, body = await broker.call(verb, path, who="globex")
        assert status == 404, f"{verb} {template} with another tenant's id: {body}"
        return
    if verb == "GET":
        await check_listing(broker, template, path, owned)
        return
    if verb == "POST":
        status, body = await broker.call(
            verb, path, who="globex", json=_body(template, ids)
        )
        assert status in (200, 201, 202, 422), f"POST {template}: {status} {body}"
        assert not owned & _ids_in(body), f"POST {template} revealed acme's ids"
        return
    raise AssertionError(f"the walk does not know how to check {verb} {template}")


async def check_listing(
    broker: Broker, template: str, path: str, owned: set[str]
) -> None:
    """Another tenant's listing, even with acme's cursor, shows nothing of acme."""
    status, body = await broker.call("GET", path, who="globex")
    assert status == 200, f"GET {template}: {body}"
    assert not owned & _ids_in(body), f"GET {template} showed acme's ids to globex"
    status, page = await broker.call("GET", f"{path}?limit=1", who="acme")
    cursor = page.get("next_cursor") if isinstance(page, dict) else None
    if cursor:
        status, body = await broker.call("GET", f"{path}?cursor={cursor}", who="globex")
        assert status in (200, 400), f"GET {template} with acme's cursor: {status}"
        assert not owned & _ids_in(body)


def _body(template: str, ids: dict[str, str]) -> dict[str, Any]:
    """A create naming acme's volume, or a placement of a VM on it."""
    vm = {**VM, "volumes": [ids["/v1/volumes"]]}
    if template == "/v1/placements":
        return {"kind": "vm", "spec": vm}
    if template == "/v1/vms":
        return vm
    return {"name": "x", "size_gib": 1}


def _ids_in(body: Any) -> set[str]:
    """Every 32-hex string anywhere in an answer."""
    found: set[str] = set()
    if isinstance(body, dict):
        for value in body.values():
            found |= _ids_in(value)
    elif isinstance(body, list):
        for value in body:
            found |= _ids_in(value)
    elif isinstance(body, str) and len(body) == 32:
        found.add(body)
    return found
