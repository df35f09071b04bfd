"""Every failure class, produced by real HTTP answers of the simulator."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from broker.c4 import C4Client, VmRequirements
from broker.c4.outcome import Refusal
from broker.config import ProviderConfig
from broker.errors import ProviderFault, ProviderProtocolError, ProviderRefusal
from broker.sim import Simulator

StartSim = Callable[..., Awaitable[Simulator]]
MakeClient = Callable[..., C4Client]


async def test_refusal_of_a_create(
    client: C4Client, sim: Simulator, huge_vm: VmRequirements
) -> None:
    """A register that does not fit raises ProviderRefusal (409 or 500 body)."""
    with pytest.raises(ProviderRefusal) as caught:
        await client.register(
            huge_vm, client_uuid="t1", vm_name="big", volumes=[], authentication=None
        )
    assert "Config is not available" not in str(caught.value)


async def test_refuse_all_is_a_refusal(
    client: C4Client, sim: Simulator, small_vm: VmRequirements
) -> None:
    """A provider refusing everything gives quotes that are refusals."""
    sim.faults.refuse_all = True
    assert isinstance(await client.canallocate(small_vm, client_uuid="t1"), Refusal)
    cancreate = await client.cancreate(
        size=1, private=False, readonly=False, shareable=False, bootable=False
    )
    assert isinstance(cancreate, Refusal)


async def test_timeout_is_a_fault(
    start_sim: StartSim, make_client: MakeClient, small_vm: VmRequirements
) -> None:
    """A provider that never answers is a timed-out fault after timeout_s."""
    sim = await start_sim()
    sim.faults.hang = True
    client = make_client(sim, timeout_s=0.3)
    with pytest.raises(ProviderFault) as caught:
        await client.running("t1")
    assert caught.value.timed_out
    assert str(caught.value) == "Provider sim-a did not answer running within 0.3 s."


async def test_per_call_timeout_overrides_the_provider(
    start_sim: StartSim, make_client: MakeClient, small_vm: VmRequirements
) -> None:
    """A placement deadline shorter than the provider's timeout wins."""
    sim = await start_sim()
    sim.faults.hang = True
    client = make_client(sim, timeout_s=30.0)
    with pytest.raises(ProviderFault) as caught:
        await client.canallocate(small_vm, client_uuid="t1", timeout_s=0.2)
    assert caught.value.timed_out


async def test_unreachable_is_a_fault(make_client: MakeClient) -> None:
    """A closed port is a fault that did not time out."""
    client = make_client(compute="http://127.0.0.1:9")
    with pytest.raises(ProviderFault) as caught:
        await client.health()
    assert not caught.value.timed_out
    assert caught.value.status is None


async def test_5xx_is_a_fault(
    client: C4Client, sim: Simulator, small_vm: VmRequirements
) -> None:
    """A 503 is a fault carrying its status; the next call works again."""
    sim.faults.fail_next["register"] = 503
    with pytest.raises(ProviderFault) as caught:
        await client.register(
            small_vm, client_uuid="t1", vm_name="w", volumes=[], authentication=None
        )
    assert caught.value.status == 503
    assert str(caught.value) == "Provider sim-a answered 503 to register."


@pytest.mark.parametrize("status", [425, 429])
async def test_too_early_carries_retry_after(
    client: C4Client, sim: Simulator, status: int
) -> None:
    """425 and 429 are faults whose Retry-After is parsed into seconds."""
    sim.faults.fail_next["running"] = status
    with pytest.raises(ProviderFault) as caught:
        await client.running("t1")
    assert caught.value.status == status
    assert caught.value.retry_after == 1.0


async def test_garbage_with_200_is_a_protocol_error(
    client: C4Client, sim: Simulator, small_vm: VmRequirements
) -> None:
    """A 200 whose body is not JSON is a protocol error, not a success."""
    sim.faults.malformed = True
    with pytest.raises(ProviderProtocolError):
        await client.canallocate(small_vm, client_uuid="t1")


async def test_created_then_failed_is_a_fault(client: C4Client, sim: Simulator) -> None:
    """A create that the provider answers with 500 is a fault (orphan case)."""
    sim.faults.create_then_fail.add("create")
    with pytest.raises(ProviderFault):
        await client.create_volume(
            creator_id="t1",
            name="v",
            size=1,
            private=False,
            readonly=False,
            shareable=False,
            bootable=False,
        )


async def test_messages_never_carry_provider_text(
    client: C4Client, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """The provider's error and trace stay in debug logs, out of messages."""
    caplog.set_level(logging.DEBUG, logger="broker.c4")
    sim.faults.fail_next["running"] = 500
    with pytest.raises(ProviderFault) as caught:
        await client.running("t1")
    assert "Injected" not in str(caught.value)
    assert "Traceback" not in str(caught.value)
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("Traceback" in r.getMessage() for r in debug)


async def test_one_info_line_per_call_without_header_values(
    start_sim: StartSim, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Each call logs one INFO line; header values such as tokens never appear."""
    sim = await start_sim()
    client = make_client(sim, headers={"Authorization": "Bearer s3cr3t-token"})
    caplog.set_level(logging.DEBUG, logger="broker.c4")
    await client.running("t1")
    info = [r for r in caplog.records if r.levelno == logging.INFO]
    assert [r.getMessage().rsplit(" ", 1)[0] for r in info] == [
        "c4 call provider=sim-a operation=running status=204"
    ]
    assert "s3cr3t" not in caplog.text


async def test_answered_quotes_log_at_debug_and_failed_ones_at_info(
    start_sim: StartSim,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    small_vm: VmRequirements,
) -> None:
    """A quote goes to every provider at once: only a failed one logs at INFO."""
    sim = await start_sim()
    client = make_client(sim)
    caplog.set_level(logging.DEBUG, logger="broker.c4")
    await client.canallocate(small_vm, client_uuid="t1")
    sim.faults.fail_next["canallocate"] = 503
    with pytest.raises(ProviderFault):
        await client.canallocate(small_vm, client_uuid="t1")
    calls = [
        (r.levelno, r.getMessage().rsplit(" ", 1)[0])
        for r in caplog.records
        if r.getMessage().startswith("c4 call")
    ]
    assert calls == [
        (logging.DEBUG, "c4 call provider=sim-a operation=canallocate status=200"),
        (logging.INFO, "c4 call provider=sim-a operation=canallocate status=503"),
    ]


async def test_provider_headers_are_sent(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    """The registry's headers go with every call (the simulator ignores them)."""
    sim = await start_sim()
    client = make_client(sim, headers={"X-Api-Key": "k"})
    assert await client.ping("compute") == "hello"


async def test_observer_sees_every_outcome(
    start_sim: StartSim,
    make_client: MakeClient,
    recorder: Any,
    small_vm: VmRequirements,
    huge_vm: VmRequirements,
) -> None:
    """The observer is told ok, offer, refusal, fault, protocol error, not-found."""
    sim = await start_sim()
    client = make_client(sim, observer=recorder)
    await client.running("t1")
    await client.canallocate(small_vm, client_uuid="t1")
    await client.canallocate(huge_vm, client_uuid="t1")
    sim.faults.fail_next["statusjson"] = 502
    with pytest.raises(ProviderFault):
        await client.statusjson()
    with pytest.raises(Exception, match="does not know"):
        await client.vm_info("0" * 32)
    sim.faults.malformed = True
    with pytest.raises(ProviderProtocolError):
        await client.health()
    assert recorder.outcomes() == [
        ("running", "ok"),
        ("canallocate", "offer"),
        ("canallocate", "refusal"),
        ("statusjson", "fault"),
        ("vm_info", "not-found"),
        ("health", "protocol-error"),
    ]


class _Broken:
    def observe(
        self, provider: str, operation: str, outcome: str, elapsed_s: float
    ) -> None:
        raise RuntimeError("metrics backend down")


async def test_failing_observer_does_not_fail_the_call(
    start_sim: StartSim, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """An observer that raises is logged; the call still returns its result."""
    sim = await start_sim()
    client = make_client(sim, observer=_Broken())
    assert await client.running("t1") == []
    assert "c4 observer failed" in caplog.text


async def test_calls_in_flight_are_capped_per_provider(
    session: aiohttp.ClientSession, aiohttp_server: Callable[..., Awaitable[TestServer]]
) -> None:
    """No more than max_in_flight calls reach a provider at once; the rest wait."""
    in_flight = 0
    highest = 0

    async def health(request: web.Request) -> web.Response:
        nonlocal in_flight, highest
        in_flight += 1
        highest = max(highest, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return web.json_response({"status": "UP"})

    app = web.Application()
    app.router.add_get("/api/v1.0/health", health)
    server = await aiohttp_server(app)
    provider = ProviderConfig(
        name="capped", compute=str(server.make_url("/")), max_in_flight=2
    )
    client = C4Client(provider, session)

    await asyncio.gather(*(client.health() for _ in range(6)))

    assert highest == 2
