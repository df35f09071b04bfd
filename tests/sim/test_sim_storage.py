"""The simulated storage server in both dialects: quotes, creates, reads, deletes."""

from __future__ import annotations

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
    tenant: str = "tenant-a",
    size: int = 10,
) -> dict[str, Any]:
    body = {
        "creatorID": tenant,
        "name": "data",
        "size": size,
        "private": True,
        "readonly": False,
        "shareable": False,
        "bootable": False,
    }
    async with http.post(sim.urls["storage"] + f"{API}/create", json=body) as resp:
        assert resp.status == 200
        volume: dict[str, Any] = await resp.json()
    return volume


async def test_cancreate_quotes_the_disk_price(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """``cancreate`` answers PRICE for size GiB at the per GiB-month rate."""
    body = {"size": "100", "private": False, "readonly": False, "bootable": True}
    async with http.get(sim.urls["storage"] + f"{API}/cancreate", json=body) as resp:
        price = await resp.json()
    assert price == {"currency": "EUR", "hourly": round(5 / 730, 4), "monthly": 5.0}


@pytest.mark.parametrize("dialect", ["docs", "reference"])
async def test_cancreate_refusal_follows_the_dialect(
    make_sim: MakeSim, http: aiohttp.ClientSession, dialect: str
) -> None:
    """More disk than is left is refused in each dialect's own way."""
    sim = await make_sim(dialect=dialect, disk_gib=50)
    url = sim.urls["storage"] + f"{API}/cancreate"
    async with http.get(url, json={"size": 51}) as resp:
        status, body = resp.status, await resp.json()
    if dialect == "docs":
        assert (status, body["info"]) == (200, {"canallocate": False})
    else:
        assert (status, body["error"]) == (500, "Config is not available")


async def test_create_consumes_disk_until_refused(
    make_sim: MakeSim, http: aiohttp.ClientSession
) -> None:
    """Volumes use up disk; a create beyond it is a "Config is not available"."""
    sim = await make_sim(disk_gib=15)
    await _create(http, sim, size=10)
    body = {"creatorID": "tenant-a", "name": "big", "size": 10}
    async with http.post(sim.urls["storage"] + f"{API}/create", json=body) as resp:
        assert resp.status == 409
        assert (await resp.json())["error"] == "Config is not available"


async def test_reference_volume_booleans_are_strings(
    make_sim: MakeSim, http: aiohttp.ClientSession
) -> None:
    """The reference dialect answers volume booleans as "True"/"False"."""
    sim = await make_sim(dialect="reference")
    volume = await _create(http, sim)
    assert volume["private"] == "True"
    assert volume["bootable"] == "False"
    assert volume["size"] == 10
    assert volume["creatorID"] == "tenant-a"


async def test_docs_dialect_reads_and_destroys_by_post(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """Docs dialect: POST info, accessible and destroy with their body keys."""
    storage = sim.urls["storage"]
    volume = await _create(http, sim)
    vid = volume["vid"]

    async with http.post(storage + f"{API}/info", json={"volume_id": vid}) as resp:
        assert await resp.json() == volume
    body = {"client_uid": "tenant-a"}
    async with http.post(storage + f"{API}/accessible", json=body) as resp:
        assert await resp.json() == [volume]
    async with http.post(storage + f"{API}/destroy", json={"volumeID": vid}) as resp:
        assert await resp.json() == {"unregistered": None, "uniqueID": vid}
    assert sim.volumes("tenant-a") == []


async def test_reference_dialect_reads_by_get_and_destroys_by_delete(
    make_sim: MakeSim, http: aiohttp.ClientSession
) -> None:
    """Reference dialect: GET info (body or path), GET accessible, DELETE destroy."""
    sim = await make_sim(dialect="reference")
    storage = sim.urls["storage"]
    volume = await _create(http, sim)
    vid = volume["vid"]

    async with http.get(storage + f"{API}/info", json={"volume_uuid": vid}) as resp:
        assert await resp.json() == volume
    async with http.get(storage + f"{API}/info/{vid}") as resp:
        assert await resp.json() == volume
    params = {"client_uuid": "tenant-a"}
    async with http.get(storage + f"{API}/accessible", params=params) as resp:
        assert await resp.json() == [volume]
    body = {"volume_uuid": vid}
    async with http.delete(storage + f"{API}/destroy", json=body) as resp:
        assert await resp.json() == {"unregistered": None, "uniqueID": vid}
    assert not sim.state.volumes


@pytest.mark.parametrize(
    ("dialect", "method", "path", "status"),
    [
        ("reference", "POST", "info", 405),
        ("reference", "POST", "accessible", 405),
        ("reference", "POST", "destroy", 405),
        ("docs", "GET", "info", 405),
        ("docs", "GET", "info/abc", 404),
        ("docs", "GET", "accessible", 405),
        ("docs", "DELETE", "destroy", 405),
    ],
)
async def test_other_dialects_variant_is_refused_like_fastapi(
    make_sim: MakeSim,
    http: aiohttp.ClientSession,
    dialect: str,
    method: str,
    path: str,
    status: int,
) -> None:
    """The other dialect's method or path answers 405/404 with a ``detail`` body."""
    sim = await make_sim(dialect=dialect)
    url = sim.urls["storage"] + f"{API}/{path}"
    async with http.request(method, url, json={"volume_id": "x"}) as resp:
        assert resp.status == status
        body = await resp.json()
    expected = "Method Not Allowed" if status == 405 else "Not Found"
    assert body == {"detail": expected}


async def test_unknown_volume_is_404(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """Reading or destroying an unknown volume is a C4 404 error."""
    storage = sim.urls["storage"]
    for path, body in (("info", {"volume_id": "x"}), ("destroy", {"volumeID": "x"})):
        async with http.post(storage + f"{API}/{path}", json=body) as resp:
            assert resp.status == 404
            assert (await resp.json())["meson_source"] == f"{path}()"


async def test_export_shares_a_volume_with_another_tenant(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """An exported volume becomes accessible to that tenant until unexported."""
    storage = sim.urls["storage"]
    volume = await _create(http, sim)
    body = {"client_uid": "tenant-b", "volume_id": volume["vid"]}

    async with http.post(storage + f"{API}/export", json=body) as resp:
        assert resp.status == 200
    assert sim.volumes("tenant-b") == [volume]
    async with http.post(storage + f"{API}/unexport", json=body) as resp:
        assert resp.status == 200
    assert sim.volumes("tenant-b") == []


async def test_create_without_size_is_400(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """A create body lacking ``size`` names that field in the 400."""
    body = {"creatorID": "tenant-a", "name": "data"}
    async with http.post(sim.urls["storage"] + f"{API}/create", json=body) as resp:
        assert resp.status == 400
        assert (await resp.json())["field_errors"][0]["field"] == "size"
