"""``GET /metrics``: the series operators graph, with bounded labels."""

from __future__ import annotations

import asyncio
import re
import shutil

import pytest
from tests.api.test_jobs import settle
from tests.conftest import Broker, BrokerFactory, SimFactory

from broker.api.context import INVENTORY

VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}


async def scrape(broker: Broker) -> str:
    async with broker.client.get("/metrics") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        return await resp.text()


def series(text: str, name: str) -> list[dict[str, str]]:
    """Label sets of every sample of one metric."""
    found = []
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} ", line)
        if match:
            found.append(dict(re.findall(r'(\w+)="([^"]*)"', match.group(1))))
    return found


async def test_create_failover_and_refresh_show_in_metrics(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """After a failover create and a refresh, the expected series carry their labels."""
    flaky = await sim_factory("flaky", price_core_hour=0.001)
    flaky.faults.fail_next["register"] = 503
    steady = await sim_factory("steady", price_core_hour=0.05)
    broker = await broker_factory([flaky, steady])

    _, created = await broker.call("POST", "/v1/vms", json=VM)
    await settle(broker, created["job"]["href"])
    await broker.client.app[INVENTORY].refresh_all()
    text = await scrape(broker)

    calls = series(text, "c4broker_provider_calls_total")
    assert {"provider": "flaky", "operation": "register", "outcome": "fault"} in calls
    assert {"provider": "steady", "operation": "register", "outcome": "ok"} in calls
    assert {"provider": "steady", "operation": "running", "outcome": "ok"} in calls
    assert {"provider": "flaky"} in series(text, "c4broker_failovers_total")
    assert {"operation": "create", "kind": "vm", "state": "succeeded"} in series(
        text, "c4broker_jobs_total"
    )
    assert {"kind": "vm", "outcome": "placed"} in series(
        text, "c4broker_placements_total"
    )
    assert {"kind": "vm", "le": "0.1"} in series(
        text, "c4broker_placement_duration_seconds_bucket"
    )
    assert {"provider": "steady", "kind": "vm", "status": "active"} in series(
        text, "c4broker_inventory_resources"
    )
    assert {"provider": "steady", "currency": "EUR"} in series(
        text, "c4broker_inventory_monthly_cost"
    )
    assert {"provider": "steady"} in series(
        text, "c4broker_inventory_refresh_age_seconds"
    )
    assert {"provider": "steady", "state": "healthy"} in series(
        text, "c4broker_provider_state"
    )
    http = series(text, "c4broker_http_requests_total")
    assert {"route": "/v1/vms", "method": "POST", "status_class": "2xx"} in http


async def test_labels_never_carry_ids(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Resource, job and tenant ids never become label values."""
    broker = await broker_factory([await sim_factory()])
    _, created = await broker.call("POST", "/v1/vms?wait=5", json=VM)
    await broker.call("GET", f"/v1/vms/{created['id']}")
    text = await scrape(broker)
    assert created["id"] not in text
    assert created["job"]["id"] not in text
    assert "acme" not in text
    assert {"route": "/v1/vms/{id}", "method": "GET", "status_class": "2xx"} in series(
        text, "c4broker_http_requests_total"
    )


async def test_metrics_text_passes_promtool(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """promtool check metrics finds nothing wrong in the broker's real exposition."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: .ci/run installs Debian's prometheus package")
    broker = await broker_factory([await sim_factory()])
    _, created = await broker.call("POST", "/v1/vms", json=VM)
    await settle(broker, created["job"]["href"])
    text = await scrape(broker)
    check = await asyncio.create_subprocess_exec(
        promtool,
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await check.communicate(text.encode())
    assert check.returncode == 0, output.decode()
