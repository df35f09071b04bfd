"""Reloading the provider registry: by the API, on file change and on SIGHUP."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml
from aiohttp.test_utils import TestClient
from tests.conftest import (
    ACME_UUID,
    Broker,
    BrokerFactory,
    SimFactory,
    broker_config,
    provider_entry,
)

from broker.api.app import create_app
from broker.api.context import INVENTORY, RELOAD_ON_SIGHUP, RELOADER
from broker.config import load_config
from broker.providers import RegistryDiff
from broker.reload import ReloadOutcome

QUIET = {"refresh_interval_s": 3600}


def write_registry(broker: Broker, entries: list[dict[str, Any]]) -> None:
    """Replace the broker's providers.yaml."""
    text = yaml.safe_dump({"providers": entries})
    (broker.folder / "providers.yaml").write_text(text)


async def provider_names(broker: Broker) -> list[str]:
    """The providers in force, as GET /v1/providers lists them."""
    status, body = await broker.call("GET", "/v1/providers")
    assert status == 200, body
    return [p["name"] for p in body["items"]]


async def reloaded(broker: Broker) -> tuple[int, Any]:
    """POST /v1/admin/reload as the admin."""
    return await broker.call("POST", "/v1/admin/reload", who="ops")


async def test_reload_adds_a_provider_and_refreshes_it(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A provider added to the file is in force after a reload, and listed at once."""
    a, b = await sim_factory("sim-a"), await sim_factory("sim-b")
    broker = await broker_factory([a], inventory=QUIET)
    b.add_vm(ACME_UUID, "on-b")
    write_registry(broker, [provider_entry(a), provider_entry(b)])

    status, diff = await reloaded(broker)

    assert status == 200, diff
    assert diff == {"added": ["sim-b"], "removed": [], "changed": []}
    assert await provider_names(broker) == ["sim-a", "sim-b"]
    await broker.client.app[INVENTORY].settle()
    _, page = await broker.call("GET", "/v1/inventory?provider=sim-b")
    assert [i["name"] for i in page["items"]] == ["on-b"]


async def test_reload_reports_changed_and_removed_providers(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A reload names the providers it changed and removed."""
    a, b = await sim_factory("sim-a"), await sim_factory("sim-b")
    broker = await broker_factory([a, b], inventory=QUIET)
    write_registry(broker, [provider_entry(a, weight=2.0)])

    status, diff = await reloaded(broker)

    assert status == 200, diff
    assert diff == {"added": [], "removed": ["sim-b"], "changed": ["sim-a"]}


async def test_broken_registry_is_refused_and_the_old_one_stays(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A file with errors is answered 422 with each problem; nothing changes."""
    a = await sim_factory("sim-a")
    broker = await broker_factory([a], inventory=QUIET)
    write_registry(broker, [provider_entry(a), {"name": "Bad Name", "colour": "blue"}])

    status, problem = await reloaded(broker)

    assert status == 422, problem
    assert problem["status"] == 422
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"providers_file"}
    messages = [e["message"] for e in problem["errors"]]
    assert all("providers.yaml:" in m for m in messages)
    assert any("Unknown key" in m for m in messages)
    assert await provider_names(broker) == ["sim-a"]


async def test_reload_is_for_admins(broker_factory: BrokerFactory) -> None:
    """A tenant may not reload the registry."""
    broker = await broker_factory([], inventory=QUIET)
    status, problem = await broker.call("POST", "/v1/admin/reload")
    assert status == 403, problem


async def test_removed_provider_keeps_its_resources(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Resources of a removed provider stay listed; the provider is named stale."""
    a, b = await sim_factory("sim-a"), await sim_factory("sim-b")
    broker = await broker_factory([a, b], inventory=QUIET)
    a.add_vm(ACME_UUID, "kept")
    await broker.client.app[INVENTORY].refresh_all()
    write_registry(broker, [provider_entry(b)])

    status, diff = await reloaded(broker)
    assert status == 200, diff
    await broker.client.app[INVENTORY].refresh_all()

    _, page = await broker.call("GET", "/v1/inventory")
    assert [(i["name"], i["status"]) for i in page["items"]] == [("kept", "active")]
    assert page["stale_providers"] == ["sim-a"]
    _, other = await broker.call("GET", "/v1/inventory", who="globex")
    assert other["stale_providers"] == []


async def test_changed_file_is_reloaded_by_itself(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Writing the registry file puts it in force without any call."""
    a, b = await sim_factory("sim-a"), await sim_factory("sim-b")
    broker = await broker_factory([a], inventory=QUIET)
    outcome = broker.client.app[RELOADER].next_outcome()

    write_registry(broker, [provider_entry(a), provider_entry(b)])

    done: ReloadOutcome = await asyncio.wait_for(outcome, timeout=5)
    assert done.reason == "file-changed"
    assert done.diff is not None
    assert done.diff.added == ["sim-b"]
    assert await provider_names(broker) == ["sim-a", "sim-b"]


async def test_changed_file_that_is_broken_is_refused(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A broken file written in place is refused; the registry in force stays."""
    a = await sim_factory("sim-a")
    broker = await broker_factory([a], inventory=QUIET)
    outcome = broker.client.app[RELOADER].next_outcome()

    (broker.folder / "providers.yaml").write_text("providers: [\n")

    done: ReloadOutcome = await asyncio.wait_for(outcome, timeout=5)
    assert done.diff is None
    assert done.problems
    assert await provider_names(broker) == ["sim-a"]


async def test_sighup_reloads_when_serving(
    sim_factory: SimFactory,
    tmp_path: Path,
    aiohttp_client: Callable[..., Awaitable[TestClient]],
) -> None:
    """Under ``serve`` the broker reloads the registry on SIGHUP."""
    a = await sim_factory("sim-a")
    path = broker_config(tmp_path, [provider_entry(a)], inventory=QUIET)
    app = create_app(load_config(path))
    app[RELOAD_ON_SIGHUP] = True
    await aiohttp_client(app)
    reloader = app[RELOADER]
    assert reloader.sighup_installed
    outcome = reloader.next_outcome()

    os.kill(os.getpid(), signal.SIGHUP)

    done: ReloadOutcome = await asyncio.wait_for(outcome, timeout=5)
    assert done.reason == "sighup"
    assert done.diff == RegistryDiff()


async def test_sighup_is_left_alone_outside_serve(
    broker_factory: BrokerFactory,
) -> None:
    """An app not started by ``serve`` installs no SIGHUP handler."""
    broker = await broker_factory([], inventory=QUIET)
    assert not broker.client.app[RELOADER].sighup_installed
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
