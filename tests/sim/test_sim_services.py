"""The simulated services server: create, poll, read, list and delete services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from broker.sim import Simulator

API = "/api/v1.0"
MakeSim = Callable[..., Awaitable[Simulator]]


async def _create(
    http: aiohttp.ClientSession,
    sim: Simulator,
    kind: str = "s3",
    tenant: str = "tenant-a",
    req: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body = {"client_uuid": tenant, "req": req or {"name": "bucket-1"}}
    url = sim.urls["services"] + f"{API}/{kind}/create"
    async with http.post(url, json=body) as resp:
        assert resp.status == 200
        service: dict[str, Any] = await resp.json()
    return service


async def test_create_answers_the_service_shape(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """A create returns metadata, capabilities and resources, named from ``req``."""
    service = await _create(http, sim, "dbaas", req={"name": "db", "cpu": "2"})
    metadata = service["metadata"]
    assert metadata["name"] == "db"
    assert metadata["user"] == "tenant-a"
    assert metadata["state"] == "running"
    assert metadata["region"] == "eu-west"
    assert set(metadata) >= {"id", "updatedAt", "labels", "credentials", "urls"}
    assert service["resources"]["cpu"] == 2.0
    assert service["capabilities"]


async def test_unnamed_service_gets_a_generated_name(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """Without ``req.name`` the service is called ``svc-`` and its id's start."""
    service = await _create(http, sim, "kaas", req={"nodes": 3})
    metadata = service["metadata"]
    assert metadata["name"] == "svc-" + metadata["id"][:8]


async def test_async_create_answers_425_until_ready(
    make_sim: MakeSim, http: aiohttp.ClientSession
) -> None:
    """With ``Async: true`` a create answers 202; its polling URL answers 425
    with Retry-After while creating and the service once ready."""
    sim = await make_sim(async_delay_s=0.2)
    url = sim.urls["services"] + f"{API}/jupyter/create"
    body = {"client_uuid": "tenant-a", "req": {"name": "nb"}}
    async with http.post(url, json=body, headers={"Async": "true"}) as resp:
        assert resp.status == 202
        accepted = await resp.json()
    service_id = accepted["id"]
    expected = sim.urls["services"] + f"{API}/jupyter/running/{service_id}"
    assert accepted["poolingURL"] == expected

    async with http.get(expected) as resp:
        assert resp.status == 425
        assert resp.headers["Retry-After"] == "1"
    await asyncio.sleep(0.25)
    async with http.get(expected) as resp:
        assert resp.status == 200
        assert (await resp.json())["metadata"]["state"] == "running"


async def test_reference_service_polling_url_has_the_bogus_host(
    make_sim: MakeSim, http: aiohttp.ClientSession
) -> None:
    """In the reference dialect the services poolingURL names ``https://api``."""
    sim = await make_sim(dialect="reference", async_delay_s=5)
    url = sim.urls["services"] + f"{API}/s3/create"
    body = {"client_uuid": "tenant-a", "req": {}}
    async with http.post(url, json=body, headers={"Async": "true"}) as resp:
        accepted = await resp.json()
    assert accepted["poolingURL"] == f"https://api/v1.0/s3/running/{accepted['id']}"


async def test_docs_info_reads_the_id_from_query_or_body(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """``GET /{kind}/info`` finds the service by ``?id=`` or by body ``{"id"}``."""
    service = await _create(http, sim)
    service_id = service["metadata"]["id"]
    url = sim.urls["services"] + f"{API}/s3/info"
    async with http.get(url, params={"id": service_id}) as resp:
        assert await resp.json() == service
    async with http.get(url, json={"id": service_id}) as resp:
        assert await resp.json() == service


async def test_reference_has_no_info_but_running_by_id(
    make_sim: MakeSim, http: aiohttp.ClientSession
) -> None:
    """The reference dialect answers 404 to ``info`` and serves ``running/{id}``."""
    sim = await make_sim(dialect="reference")
    service = await _create(http, sim)
    service_id = service["metadata"]["id"]
    services = sim.urls["services"]
    async with http.get(services + f"{API}/s3/info", params={"id": service_id}) as resp:
        assert resp.status == 404
    async with http.get(services + f"{API}/s3/running/{service_id}") as resp:
        assert await resp.json() == service


async def test_listing_and_delete(sim: Simulator, http: aiohttp.ClientSession) -> None:
    """``running`` lists the tenant's services; ``delete`` removes one, then 404."""
    services = sim.urls["services"]
    service = await _create(http, sim, "loadbalancer")
    headers = {"client_uuid": "tenant-a"}
    async with http.get(
        services + f"{API}/loadbalancer/running", headers=headers
    ) as resp:
        assert await resp.json() == [service]

    body = {"client_uuid": "tenant-a", "id": service["metadata"]["id"]}
    url = services + f"{API}/loadbalancer/delete"
    async with http.delete(url, json=body) as resp:
        assert resp.status == 200
    async with http.delete(url, json=body) as resp:
        assert resp.status == 404
    assert sim.services("loadbalancer", "tenant-a") == []


@pytest.mark.parametrize("kind", ["vm", "ftp", "dbaas"])
async def test_unserved_kind_is_service_unavailable(
    make_sim: MakeSim, http: aiohttp.ClientSession, kind: str
) -> None:
    """A kind that is unknown or not offered answers a C4 503 naming it."""
    sim = await make_sim(kinds=["vm", "volume", "s3"])
    url = sim.urls["services"] + f"{API}/{kind}/create"
    async with http.post(url, json={"client_uuid": "t", "req": {}}) as resp:
        assert resp.status == 503
        body = await resp.json()
    assert body["service_failed"] == [kind]
    assert body["origin"] == "MESON"


async def test_unknown_region_refuses_a_service(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """A create naming a region the provider lacks is "Config is not available"."""
    url = sim.urls["services"] + f"{API}/s3/create"
    body = {"client_uuid": "t", "req": {}}
    async with http.post(url, json=body, headers={"service-country": "x"}) as resp:
        assert (await resp.json())["error"] == "Config is not available"
    assert not sim.state.services
