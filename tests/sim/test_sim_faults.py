"""Fault injection: scripted failures, hangs, garbage, orphans, refusals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from broker.sim import Faults, Simulator

API = "/api/v1.0"
MakeSim = Callable[..., Awaitable[Simulator]]
VmRequest = Callable[..., dict[str, Any]]


async def test_fail_next_fails_only_the_next_call(
    sim: Simulator, http: aiohttp.ClientSession, vm_request: VmRequest
) -> None:
    """``fail_next`` answers its status once with a C4 body, without creating."""
    sim.faults.fail_next["register"] = 503
    url = sim.urls["compute"] + f"{API}/register"
    async with http.post(url, json=vm_request()) as resp:
        assert resp.status == 503
        assert (await resp.json())["meson_source"] == "register()"
    assert sim.vms("tenant-a") == []

    async with http.post(url, json=vm_request()) as resp:
        assert resp.status == 200
    assert sim.faults.fail_next == {}


@pytest.mark.parametrize("status", [425, 429])
async def test_fail_next_retry_statuses_carry_retry_after(
    sim: Simulator, http: aiohttp.ClientSession, status: int
) -> None:
    """Injected 425 and 429 answers say ``Retry-After: 1``."""
    sim.faults.fail_next["running"] = status
    url = sim.urls["compute"] + f"{API}/running"
    async with http.get(url, params={"client_uuid": "t"}) as resp:
        assert resp.status == status
        assert resp.headers["Retry-After"] == "1"


async def test_fail_next_is_per_operation(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """A failure scripted for one operation leaves the others alone."""
    sim.faults.fail_next["service_delete"] = 500
    url = sim.urls["services"] + f"{API}/s3/running"
    async with http.get(url, headers={"client_uuid": "t"}) as resp:
        assert resp.status == 200
    assert sim.faults.fail_next == {"service_delete": 500}


async def test_hang_is_released_by_stop(
    make_sim: MakeSim, http: aiohttp.ClientSession
) -> None:
    """A hung request stays unanswered until ``stop``, which ends promptly."""
    sim = await make_sim()
    sim.faults.hang = True
    request = asyncio.ensure_future(http.get(sim.urls["compute"] + f"{API}/health"))
    done, _ = await asyncio.wait({request}, timeout=0.3)
    assert not done

    started = time.monotonic()
    await sim.stop()
    assert time.monotonic() - started < 1.5
    async with await request as resp:
        assert resp.status == 503


async def test_malformed_answers_garbage_with_200(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """With ``malformed`` every answer is 200 with a body that is not JSON."""
    sim.faults.malformed = True
    async with http.get(sim.urls["storage"] + f"{API}/health") as resp:
        assert resp.status == 200
        with pytest.raises(ValueError, match=r"."):
            await resp.json(content_type=None)


@pytest.mark.parametrize(
    ("server", "path", "operation"),
    [("compute", "register", "register"), ("services", "s3/create", "service_create")],
)
async def test_create_then_fail_leaves_an_orphan(
    sim: Simulator,
    http: aiohttp.ClientSession,
    vm_request: VmRequest,
    server: str,
    path: str,
    operation: str,
) -> None:
    """``create_then_fail`` creates the resource but answers 500."""
    sim.faults.create_then_fail.add(operation)
    url = sim.urls[server] + f"{API}/{path}"
    async with http.post(url, json=vm_request()) as resp:
        assert resp.status == 500
    created = sim.vms("tenant-a") or sim.services("s3", "tenant-a")
    assert len(created) == 1


async def test_storage_create_then_fail_keeps_the_volume(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """A volume create marked ``create_then_fail`` exists despite the 500."""
    sim.faults.create_then_fail.add("create")
    body = {"creatorID": "tenant-a", "name": "v", "size": 1}
    async with http.post(sim.urls["storage"] + f"{API}/create", json=body) as resp:
        assert resp.status == 500
    assert len(sim.volumes("tenant-a")) == 1


async def test_error_rate_one_fails_everything(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """An error rate of 1 answers every request with a C4 500."""
    sim.faults.error_rate = 1.0
    async with http.get(sim.urls["compute"] + f"{API}/statusjson") as resp:
        assert resp.status == 500
        assert (await resp.json())["origin"] == "MESON"


async def test_refuse_all_refuses_quotes(
    sim: Simulator, http: aiohttp.ClientSession, vm_request: VmRequest
) -> None:
    """``refuse_all`` makes ``canallocate`` and ``cancreate`` say no."""
    sim.faults.refuse_all = True
    async with http.get(
        sim.urls["compute"] + f"{API}/canallocate", json=vm_request()
    ) as resp:
        assert (await resp.json())["info"]["canallocate"] is False
    async with http.get(
        sim.urls["storage"] + f"{API}/cancreate", json={"size": 1}
    ) as resp:
        assert (await resp.json())["info"]["canallocate"] is False


async def test_latency_delays_answers(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """``latency_s`` is added to every answer."""
    sim.faults = Faults(latency_s=0.2)
    started = time.monotonic()
    async with http.get(sim.urls["services"] + f"{API}/health") as resp:
        assert resp.status == 200
    assert time.monotonic() - started >= 0.2


async def test_calls_are_recorded_in_order(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """Every request is recorded as (method, path) without its query string."""
    async with http.get(sim.urls["compute"] + f"{API}/running?client_uuid=t"):
        pass
    async with http.post(sim.urls["storage"] + f"{API}/nowhere"):
        pass
    assert sim.calls == [("GET", f"{API}/running"), ("POST", f"{API}/nowhere")]
