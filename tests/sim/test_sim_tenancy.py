"""Per-tenant isolation, and the helpers that change state outside the broker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from broker.sim import Simulator

API = "/api/v1.0"
VmRequest = Callable[..., dict[str, Any]]


async def test_vms_are_listed_and_deleted_per_tenant(
    sim: Simulator, http: aiohttp.ClientSession, vm_request: VmRequest
) -> None:
    """A tenant lists only its VMs and cannot see or delete another's."""
    compute = sim.urls["compute"]
    async with http.post(compute + f"{API}/register", json=vm_request("a")) as resp:
        vm_id = (await resp.json())["uniqueID"]

    async with http.get(compute + f"{API}/running?client_uuid=b") as resp:
        assert resp.status == 204
    async with http.get(compute + f"{API}/running/{vm_id}?client_uuid=b") as resp:
        assert resp.status == 404
    body = {"vm_uuid": vm_id, "client_uuid": "b"}
    async with http.delete(compute + f"{API}/unregister", json=body) as resp:
        assert resp.status == 404
    async with http.get(compute + f"{API}/running?client_uid=a") as resp:
        assert [vm["uniqueID"] for vm in (await resp.json())["vms"]] == [vm_id]


async def test_volumes_are_listed_and_destroyed_per_tenant(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """``accessible`` shows a tenant only its volumes; another cannot destroy them."""
    storage = sim.urls["storage"]
    body = {"creatorID": "a", "name": "v", "size": 1}
    async with http.post(storage + f"{API}/create", json=body) as resp:
        vid = (await resp.json())["vid"]

    async with http.post(
        storage + f"{API}/accessible", json={"client_uuid": "b"}
    ) as resp:
        assert await resp.json() == []
    destroy = {"volumeID": vid, "client_uuid": "b"}
    async with http.post(storage + f"{API}/destroy", json=destroy) as resp:
        assert resp.status == 404
    assert len(sim.volumes("a")) == 1


async def test_services_are_listed_and_deleted_per_tenant(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """Service listings and deletes only reach the caller's own services."""
    services = sim.urls["services"]
    body = {"client_uuid": "a", "req": {"name": "bucket"}}
    async with http.post(services + f"{API}/s3/create", json=body) as resp:
        service_id = (await resp.json())["metadata"]["id"]

    async with http.get(
        services + f"{API}/s3/running", headers={"client_uuid": "b"}
    ) as resp:
        assert await resp.json() == []
    delete = {"client_uuid": "b", "id": service_id}
    async with http.delete(services + f"{API}/s3/delete", json=delete) as resp:
        assert resp.status == 404
    assert len(sim.services("s3", "a")) == 1


async def test_vms_added_and_removed_outside_the_broker(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """``add_vm`` shows up in ``running``; ``remove_vm`` makes it disappear."""
    vm_id = sim.add_vm("a", "rogue", cores=2, memory_mib=2048)
    url = sim.urls["compute"] + f"{API}/running?client_uuid=a"
    async with http.get(url) as resp:
        vms = (await resp.json())["vms"]
    assert [vm["req_json"]["vm_name"] for vm in vms] == ["rogue"]
    assert sim.vms("a") == vms

    sim.remove_vm(vm_id)
    async with http.get(url) as resp:
        assert resp.status == 204


async def test_add_vm_beyond_capacity_is_refused(sim: Simulator) -> None:
    """``add_vm`` raises ValueError instead of overcommitting the provider."""
    with pytest.raises(ValueError, match="capacity"):
        sim.add_vm("a", "huge", cores=1000)
