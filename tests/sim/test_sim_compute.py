"""The simulated compute server: quotes, creates, listings, polling, deletes."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from broker.sim import Simulator

API = "/api/v1.0"
MakeSim = Callable[..., Awaitable[Simulator]]
VmRequest = Callable[..., dict[str, Any]]


async def test_every_server_says_hello_and_is_healthy(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """``GET /`` is plain "hello" and ``/health`` is UP on all three servers."""
    for base in sim.urls.values():
        async with http.get(base + "/") as resp:
            assert resp.status == 200
            assert await resp.text() == "hello"
        async with http.get(base + f"{API}/health") as resp:
            assert await resp.json() == {"status": "UP", "version": "1.0.0"}


async def test_status_is_plain_text_unless_json_is_asked(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """``status`` answers text, or 204 as JSON while no VM exists, then the VMs."""
    url = sim.urls["compute"] + f"{API}/status"
    json_headers = {"Content-Type": "application/json"}
    async with http.get(url) as resp:
        assert resp.content_type == "text/plain"
        assert "sim-test" in await resp.text()
    async with http.get(url, headers=json_headers) as resp:
        assert resp.status == 204

    vm_id = sim.add_vm("tenant-a", "outside")
    async with http.get(url, headers=json_headers) as resp:
        body = await resp.json()
    assert [vm["uniqueID"] for vm in body["vms"]] == [vm_id]


async def test_statusjson_reports_remaining_capacity(
    make_sim: MakeSim, http: aiohttp.ClientSession
) -> None:
    """``statusjson`` shows total and available cores and memory."""
    sim = await make_sim(cores=8, memory_mib=8192, pci_devices={"10de:1db6": 2})
    sim.add_vm("tenant-a", "busy", cores=3, memory_mib=1024)
    async with http.get(sim.urls["compute"] + f"{API}/statusjson") as resp:
        body = await resp.json()
    assert body["cpu"]["cores"] == 8
    assert body["cpu"]["available"] == 5
    assert body["cpu"]["arch"] == "X86_64"
    assert body["memory"] == {"size": 8192, "available": 7168, "ECC": True}
    assert body["pci"]["devices"] == {"10de:1db6": 2}


async def test_canallocate_tolerates_string_req_and_pickle_noise(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """A ``req`` sent as a JSON string, with ``py/object`` keys, string numbers
    and the ``client_uid`` spelling, is quoted like a clean one."""
    req = {
        "py/object": "common.lib.system.systemrequirements.systemrequirements",
        "cpu": {
            "py/object": "common.lib.components.cpu.cpurequirements",
            "slots": "2",
            "fullPhysical": "false",
            "maxOverprovision": 1,
            "min_frequency": "0.5",
            "arch": ["X86_64"],
            "flags": [],
        },
        "mem": {"py/object": "memrequirements", "capacity": "4096", "requireECC": 0},
        "pci": {"py/object": "pcirequirements", "devices": {}},
    }
    body = {"client_uid": "tenant-a", "req": json.dumps(req)}
    async with http.get(sim.urls["compute"] + f"{API}/canallocate", json=body) as resp:
        assert resp.status == 200
        answer = await resp.json()

    hourly = 2 * 0.02 + 4 * 3.0 / 730
    assert answer["info"]["canallocate"] is True
    assert answer["info"]["price"] == {
        "currency": "EUR",
        "hourly": round(hourly, 4),
        "monthly": round(hourly * 730, 4),
    }
    assert answer["config"]["slots"] == 2
    assert answer["config"]["ramsize"] == 4096
    assert "py/object" not in json.dumps(answer)


async def test_reference_prices_are_numeric_strings(
    make_sim: MakeSim, http: aiohttp.ClientSession, vm_request: VmRequest
) -> None:
    """The reference dialect sends prices as strings, never rounded to zero."""
    sim = await make_sim(dialect="reference")
    url = sim.urls["compute"] + f"{API}/canallocate"
    async with http.get(url, json=vm_request(cores=1, memory_mib=1024)) as resp:
        price = (await resp.json())["info"]["price"]
    assert price["hourly"] == "0.0241"
    assert float(price["monthly"]) == pytest.approx(0.0241 * 730, abs=0.01)


@pytest.mark.parametrize("dialect", ["docs", "reference"])
async def test_canallocate_refusal_follows_the_dialect(
    make_sim: MakeSim, http: aiohttp.ClientSession, vm_request: VmRequest, dialect: str
) -> None:
    """Too big a VM is refused: 200 ``canallocate: false`` in the documented
    dialect, a 500 "Config is not available" error in the reference one."""
    sim = await make_sim(dialect=dialect, cores=4)
    url = sim.urls["compute"] + f"{API}/canallocate"
    async with http.get(url, json=vm_request(cores=8)) as resp:
        status, body = resp.status, await resp.json()
    if dialect == "docs":
        assert (status, body) == (200, {"config": {}, "info": {"canallocate": False}})
    else:
        assert status == 500
        assert body["error"] == "Config is not available"
        assert body["origin"] == "MESON"
        assert body["meson_source"] == "canallocate()"
        assert body["trace"]


@pytest.mark.parametrize(
    ("headers", "req_change"),
    [
        ({"service-country": "mars"}, {}),
        ({"service_country": "mars"}, {}),
        ({}, {"arch": ["ARM64"]}),
        ({}, {"pci": {"devices": {"10de:1db6": 1}}}),
    ],
)
async def test_canallocate_refuses_what_cannot_be_hosted(
    sim: Simulator,
    http: aiohttp.ClientSession,
    vm_request: VmRequest,
    headers: dict[str, str],
    req_change: dict[str, Any],
) -> None:
    """An unknown region, another architecture or a missing PCI device is a no."""
    body = vm_request()
    if "arch" in req_change:
        body["req"]["cpu"]["arch"] = req_change["arch"]
    if "pci" in req_change:
        body["req"]["pci"] = req_change["pci"]
    url = sim.urls["compute"] + f"{API}/canallocate"
    async with http.get(url, json=body, headers=headers) as resp:
        assert (await resp.json())["info"] == {"canallocate": False}


async def test_known_region_header_is_accepted(
    make_sim: MakeSim, http: aiohttp.ClientSession, vm_request: VmRequest
) -> None:
    """A region the provider has is quoted and echoed in the offered config."""
    sim = await make_sim(regions=["eu-west", "eu-east"])
    url = sim.urls["compute"] + f"{API}/canallocate"
    headers = {"service-country": "eu-east"}
    async with http.get(url, json=vm_request(), headers=headers) as resp:
        assert (await resp.json())["config"]["region"] == "eu-east"


async def test_register_answers_the_vm_wire_shape(
    sim: Simulator, http: aiohttp.ClientSession, vm_request: VmRequest
) -> None:
    """``register`` returns the VM with id, ``req_json``, ``mesos`` and XML."""
    url = sim.urls["compute"] + f"{API}/register"
    async with http.post(url, json=vm_request(volumes=[{"vid": "v1"}])) as resp:
        assert resp.status == 200
        vm = await resp.json()

    assert re.fullmatch(r"[0-9a-f]{32}", vm["uniqueID"])
    req_json = vm["req_json"]
    assert req_json["vm_name"] == "web-1"
    assert req_json["slots"] == 2
    assert req_json["ramsize"] == 2048
    assert req_json["volumes"] == [{"vid": "v1"}]
    assert req_json["network_config"]["ipv4"].startswith("10.")
    assert set(req_json["private_network_config"][0]) == {"ipv4", "ipv6", "mac"}
    assert vm["mesos"]["provider"] == "sim-test"
    assert vm["mesos"]["price"]["currency"] == "EUR"
    assert vm["xml"].startswith("<domain")
    assert sim.vms("tenant-a") == [vm]


async def test_capacity_is_consumed_and_freed(
    make_sim: MakeSim, http: aiohttp.ClientSession, vm_request: VmRequest
) -> None:
    """Registered VMs use up cores until refusal; unregistering frees them."""
    sim = await make_sim(cores=4)
    compute = sim.urls["compute"]
    ids = []
    for _ in range(2):
        async with http.post(compute + f"{API}/register", json=vm_request()) as resp:
            ids.append((await resp.json())["uniqueID"])

    async with http.get(compute + f"{API}/canallocate", json=vm_request(1)) as resp:
        assert (await resp.json())["info"]["canallocate"] is False
    async with http.post(compute + f"{API}/register", json=vm_request(1)) as resp:
        assert resp.status == 409
        assert (await resp.json())["error"] == "Config is not available"

    body = {"vm_uuid": ids[0], "client_uuid": "tenant-a"}
    async with http.delete(compute + f"{API}/unregister", json=body) as resp:
        assert await resp.json() == {"unregistered": None, "uniqueID": ids[0]}
    async with http.get(compute + f"{API}/canallocate", json=vm_request(2)) as resp:
        assert (await resp.json())["info"]["canallocate"] is True


async def test_running_is_204_without_vms(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """A tenant with no VM gets 204 and an empty body from ``running``."""
    url = sim.urls["compute"] + f"{API}/running"
    async with http.get(url, params={"client_uuid": "nobody"}) as resp:
        assert resp.status == 204
        assert await resp.read() == b""


async def test_async_register_answers_425_until_ready(
    make_sim: MakeSim, http: aiohttp.ClientSession, vm_request: VmRequest
) -> None:
    """With ``Async: true`` and a delay, register answers 202 and a polling URL
    on the compute server, which answers 425 with Retry-After, then the VM."""
    sim = await make_sim(async_delay_s=0.2)
    url = sim.urls["compute"] + f"{API}/register"
    async with http.post(url, json=vm_request(), headers={"async": "TRUE"}) as resp:
        assert resp.status == 202
        accepted = await resp.json()
    vm_id = accepted["vm_uuid"]
    assert accepted["poolingURL"] == sim.urls["compute"] + f"{API}/running/{vm_id}"

    async with http.get(accepted["poolingURL"]) as resp:
        assert resp.status == 425
        assert resp.headers["Retry-After"] == "1"
    await asyncio.sleep(0.25)
    async with http.get(accepted["poolingURL"]) as resp:
        assert resp.status == 200
        assert (await resp.json())["uniqueID"] == vm_id


async def test_register_is_synchronous_without_the_async_header(
    make_sim: MakeSim, http: aiohttp.ClientSession, vm_request: VmRequest
) -> None:
    """Even with a delay configured, a create without ``Async: true`` is 200."""
    sim = await make_sim(async_delay_s=5)
    url = sim.urls["compute"] + f"{API}/register"
    async with http.post(url, json=vm_request(), headers={"Async": "false"}) as resp:
        assert resp.status == 200


async def test_reference_polling_url_has_the_bogus_host(
    make_sim: MakeSim, http: aiohttp.ClientSession, vm_request: VmRequest
) -> None:
    """The reference dialect's poolingURL names ``https://api`` as its host."""
    sim = await make_sim(dialect="reference", async_delay_s=5)
    url = sim.urls["compute"] + f"{API}/register"
    async with http.post(url, json=vm_request(), headers={"Async": "true"}) as resp:
        accepted = await resp.json()
    vm_id = accepted["vm_uuid"]
    assert accepted["poolingURL"] == f"https://api/v1.0/running/{vm_id}"


async def test_unknown_vm_is_404_for_info_and_unregister(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """Polling or deleting an id the provider does not know is a C4 404."""
    compute = sim.urls["compute"]
    async with http.get(compute + f"{API}/running/feedbeef") as resp:
        assert resp.status == 404
        assert (await resp.json())["origin"] == "MESON"
    body = {"vm_uuid": "feedbeef", "client_uuid": "tenant-a"}
    async with http.delete(compute + f"{API}/unregister", json=body) as resp:
        assert resp.status == 404


@pytest.mark.parametrize(
    "data",
    [
        b"{not json",
        b"[1, 2]",
        b'{"client_uuid": "t"}',
        b'{"client_uuid": "t", "req": {"cpu": {"slots": "two"}, "mem": {}}}',
        b'{"client_uuid": "t", "req": "{broken"}',
    ],
)
async def test_malformed_register_is_400(
    sim: Simulator, http: aiohttp.ClientSession, data: bytes
) -> None:
    """A body that is not JSON or lacks required keys is a 400 with field errors."""
    url = sim.urls["compute"] + f"{API}/register"
    async with http.post(url, data=data) as resp:
        assert resp.status == 400
        body = await resp.json()
    assert body["field_errors"][0]["field"]
    assert not sim.state.vms


async def test_power_operations_answer_202(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """``start``, ``stop`` and ``restart`` accept a known VM with 202."""
    vm_id = sim.add_vm("tenant-a", "box")
    body = {"vm_uuid": vm_id, "client_uuid": "tenant-a"}
    for operation in ("stop", "start", "restart"):
        url = sim.urls["compute"] + f"{API}/{operation}"
        async with http.post(url, json=body) as resp:
            assert resp.status == 202


async def test_metrics_cover_the_tenants_vms(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """``metrics`` reports one entry per VM of the tenant asked about."""
    vm_id = sim.add_vm("tenant-a", "box")
    sim.add_vm("tenant-b", "other")
    url = sim.urls["compute"] + f"{API}/metrics"
    async with http.get(url, params={"client_uuid": "tenant-a"}) as resp:
        body = await resp.json()
    assert [entry["uniqueID"] for entry in body["vms"]] == [vm_id]
