"""Provider health: ejection after repeated failures, probing, readmission."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.conftest import Broker, BrokerFactory, SimFactory

from broker.api.context import INVENTORY, PROVIDERS

VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}
PLACE = {"json": {"kind": "vm", "spec": VM}}
EJECT_S = 0.4


async def state_of(broker: Broker, name: str) -> dict[str, Any]:
    _, providers = await broker.call("GET", "/v1/providers")
    return next(p for p in providers["items"] if p["name"] == name)


async def place(broker: Broker) -> dict[str, str]:
    await broker.client.app[INVENTORY].settle()
    status, answer = await broker.call("POST", "/v1/placements", **PLACE)
    assert status == 200
    return {r["provider"]: r["reason"] for r in answer["rejected"]}


async def test_failing_provider_is_ejected_after_five_failures(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Four failures make it degraded; the fifth ejects it, with its last error."""
    bad = await sim_factory("bad")
    bad.faults.fail_always["canallocate"] = 500
    good = await sim_factory("good")
    broker = await broker_factory([bad, good], health={"base_ejection_s": EJECT_S})

    for _ in range(4):
        assert (await place(broker))["bad"] == "error"
    assert (await state_of(broker, "bad"))["state"] == "degraded"
    await place(broker)
    bad_state = await state_of(broker, "bad")
    assert bad_state["state"] == "ejected"
    assert bad_state["last_error"] == "canallocate ended in fault."
    assert (await state_of(broker, "good"))["state"] == "healthy"


async def test_ejected_provider_is_skipped_without_waiting(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A hanging provider, once ejected, is `unhealthy` at once and never called."""
    hung = await sim_factory("hung")
    hung.faults.hang = True
    good = await sim_factory("good")
    broker = await broker_factory(
        [hung, good],
        placement={"fanout_timeout_s": 0.3},
        health={"base_ejection_s": 30},
    )
    reasons = [(await place(broker))["hung"] for _ in range(5)]
    assert reasons[0] == "timeout"
    assert reasons[-1] == "unhealthy"
    calls_before = len(hung.calls)

    started = time.monotonic()
    rejected = await place(broker)
    elapsed = time.monotonic() - started

    assert rejected["hung"] == "unhealthy"
    assert elapsed < 0.2
    assert len(hung.calls) == calls_before


async def test_recovered_provider_is_probed_and_readmitted(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """After the ejection, one health probe lets a recovered provider back in."""
    flaky = await sim_factory("flaky")
    flaky.faults.fail_always["canallocate"] = 502
    broker = await broker_factory([flaky], health={"base_ejection_s": EJECT_S})
    for _ in range(5):
        await place(broker)
    assert (await state_of(broker, "flaky"))["state"] == "ejected"

    flaky.faults.fail_always.clear()
    await asyncio.sleep(EJECT_S)
    assert (await state_of(broker, "flaky"))["state"] == "degraded"
    rejected = await place(broker)

    assert "flaky" not in rejected
    assert (await state_of(broker, "flaky"))["state"] == "healthy"
    probes = [p for _, p in flaky.calls if p.endswith("/health")]
    assert len(probes) == 1


async def test_second_ejection_lasts_longer(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A provider that fails its readmission probe is ejected for twice as long."""
    broken = await sim_factory("broken")
    broken.faults.error_rate = 1.0
    broker = await broker_factory([broken], health={"base_ejection_s": EJECT_S})
    for _ in range(5):
        await place(broker)
    health = broker.client.app[PROVIDERS].health.of("broken")
    first = health.ejected_until - time.monotonic()
    assert 0 < first <= EJECT_S

    await asyncio.sleep(EJECT_S)
    assert (await place(broker))["broken"] == "unhealthy"

    second = health.ejected_until - time.monotonic()
    assert health.ejections == 2
    assert EJECT_S < second <= 2 * EJECT_S
    assert (await state_of(broker, "broken"))["state"] == "ejected"


async def test_disabled_provider_shows_disabled(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A provider the operator disabled is listed as disabled."""
    from tests.conftest import provider_entry

    sim = await sim_factory("off")
    broker = await broker_factory(providers=[provider_entry(sim, enabled=False)])
    assert (await state_of(broker, "off"))["state"] == "disabled"
