"""Tenants, keys and the shape of every error answer."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestClient
from tests.conftest import (
    ACME_UUID,
    BrokerFactory,
    SimFactory,
    broker_config,
    provider_entry,
)

from broker.api.app import create_app
from broker.config import load_config

VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}


async def test_missing_key_is_401_problem(broker_factory: BrokerFactory) -> None:
    """A /v1 call without a key is 401 problem+json with WWW-Authenticate."""
    broker = await broker_factory([])
    async with broker.client.get("/v1/providers") as resp:
        assert resp.status == 401
        assert resp.content_type == "application/problem+json"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        body = await resp.json(content_type=None)
    assert body["status"] == 401
    assert body["type"] == "/docs#problem-unauthorized"


async def test_wrong_key_is_401(broker_factory: BrokerFactory) -> None:
    """An unknown key, or another scheme, is refused."""
    broker = await broker_factory([])
    for header in (
        "Bearer not-a-key-at-all",
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "Bearer ",
    ):
        async with broker.client.get(
            "/v1/providers", headers={"Authorization": header}
        ) as resp:
            assert resp.status == 401, header


async def test_hashed_key_is_accepted(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    """A key configured as sha256:<hex> authenticates the plain key."""
    digest = hashlib.sha256(b"hashed-secret-key").hexdigest()
    path = broker_config(tmp_path, [])
    text = path.read_text().replace("acme-key-0123456789", f"sha256:{digest}")
    path.write_text(text)
    client = await aiohttp_client(create_app(load_config(path)))
    async with client.get(
        "/v1/providers", headers={"Authorization": "Bearer hashed-secret-key"}
    ) as resp:
        assert resp.status == 200


async def test_public_routes_need_no_key(broker_factory: BrokerFactory) -> None:
    """/healthz and /readyz answer without a key."""
    broker = await broker_factory([])
    async with broker.client.get("/healthz") as resp:
        assert resp.status == 200
        assert await resp.json() == {"status": "ok"}
    async with broker.client.get("/readyz") as resp:
        assert resp.status == 200


async def test_every_answer_has_a_request_id(broker_factory: BrokerFactory) -> None:
    """X-Request-Id is on successes and errors, and a caller's sane id is kept."""
    broker = await broker_factory([])
    async with broker.client.get("/healthz") as resp:
        assert len(resp.headers["X-Request-Id"]) >= 8
    async with broker.client.get(
        "/v1/providers", headers={"X-Request-Id": "trace-abc-123"}
    ) as resp:
        assert resp.status == 401
        assert resp.headers["X-Request-Id"] == "trace-abc-123"
        assert (await resp.json(content_type=None))["request_id"] == "trace-abc-123"


async def test_unknown_route_and_method_are_problems(
    broker_factory: BrokerFactory,
) -> None:
    """404 and 405 from the router are problem+json too."""
    broker = await broker_factory([])
    status, body = await broker.call("GET", "/v1/nothing-here")
    assert status == 404
    assert body["type"] == "/docs#problem-no-route"
    async with broker.client.put("/healthz") as resp:
        assert resp.status == 405
        assert resp.content_type == "application/problem+json"


async def test_body_must_be_json(broker_factory: BrokerFactory) -> None:
    """A body that is not application/json is 415."""
    broker = await broker_factory([])
    status, body = await broker.call("POST", "/v1/vms", data="name=web")
    assert status == 415
    assert body["status"] == 415


async def test_oversized_body_is_413(broker_factory: BrokerFactory) -> None:
    """A body over the cap is refused with 413 problem+json."""
    broker = await broker_factory([])
    payload = io.BytesIO(b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}')
    status, body = await broker.call(
        "POST", "/v1/vms", data=payload, headers={"Content-Type": "application/json"}
    )
    assert status == 413
    assert body["status"] == 413


async def test_another_tenants_resource_is_404(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A tenant cannot see, delete or follow the job of another tenant's VM."""
    broker = await broker_factory([await sim_factory()])
    status, vm = await broker.call("POST", "/v1/vms?wait=5", json=VM)
    assert status == 201

    assert (await broker.call("GET", f"/v1/vms/{vm['id']}", who="globex"))[0] == 404
    assert (await broker.call("DELETE", f"/v1/vms/{vm['id']}", who="globex"))[0] == 404
    assert (await broker.call("GET", vm["job"]["href"], who="globex"))[0] == 404
    _, listing = await broker.call("GET", "/v1/vms", who="globex")
    assert listing["items"] == []

    status, seen = await broker.call("GET", f"/v1/vms/{vm['id']}", who="ops")
    assert status == 200
    assert seen["tenant"] == "acme"


async def test_providers_list_hides_urls_from_tenants(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Tenants see names and health; admins also see URLs and header names only."""
    sim = await sim_factory()
    broker = await broker_factory(
        providers=[provider_entry(sim, headers={"X-Api-Token": "canary-header-value"})]
    )
    _, tenant_view = await broker.call("GET", "/v1/providers")
    item = tenant_view["items"][0]
    assert item["state"] == "healthy"
    assert "urls" not in item
    _, admin_view = await broker.call("GET", "/v1/providers", who="ops")
    assert admin_view["items"][0]["header_names"] == ["X-Api-Token"]
    assert "canary-header-value" not in str(admin_view)
    assert ACME_UUID not in str(tenant_view)
