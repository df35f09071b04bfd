"""Fixture factories: simulated providers and a broker wired to them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient

from broker import logs
from broker.api.app import create_app
from broker.config import load_config
from broker.sim import SimConfig, Simulator

TENANT_KEY = "acme-key-0123456789"
OTHER_KEY = "globex-key-0123456789"
ADMIN_KEY = "admin-key-0123456789"
ACME_UUID = "5e96afa52c1a53348adc5c5663978058"
GLOBEX_UUID = "9d2b8b5c3d1a4f7e8a6b0c1d2e3f4a5b"

SimFactory = Callable[..., Awaitable[Simulator]]


@pytest.fixture(autouse=True)
def _undo_log_setup() -> Iterator[None]:
    """Take back what logs.setup() did when a test ran the CLI in process.

    Its handler writes to that test's captured stderr, which is closed once
    the test ends; every later log line, from any thread, would fail on it.
    """
    root = logging.getLogger()
    level = root.level
    yield
    for handler in [h for h in root.handlers if logs.REDACTION in h.filters]:
        root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
async def sim_factory() -> AsyncIterator[SimFactory]:
    """Start simulated providers on free ports; all stopped at the end."""
    started: list[Simulator] = []

    async def start(name: str = "sim-a", **options: Any) -> Simulator:
        sim = Simulator(SimConfig(name=name, **options))
        await sim.start(
            host="127.0.0.1", compute_port=0, storage_port=0, services_port=0
        )
        started.append(sim)
        return sim

    yield start
    for sim in started:
        await sim.stop()


def provider_entry(sim: Simulator, **overrides: Any) -> dict[str, Any]:
    """A registry entry for a simulator."""
    entry: dict[str, Any] = {
        "name": sim.config.name,
        **sim.urls,
        "regions": list(sim.config.regions),
        "timeout_s": 2,
    }
    entry.update(overrides)
    return entry


@dataclass
class Broker:
    """A broker under test: its HTTP client, its files, and helpers."""

    client: TestClient
    folder: Path
    keys: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str = "acme") -> dict[str, str]:
        """The Authorization header of a tenant."""
        return {"Authorization": f"Bearer {self.keys[who]}"}

    async def call(
        self, method: str, path: str, who: str = "acme", **kwargs: Any
    ) -> tuple[int, Any]:
        """Call the API as a tenant; the status and the decoded body."""
        headers = {**self.auth(who), **kwargs.pop("headers", {})}
        async with self.client.request(method, path, headers=headers, **kwargs) as resp:
            body = await resp.json(content_type=None) if resp.status != 204 else None
            return resp.status, body


BrokerFactory = Callable[..., Awaitable[Broker]]


def broker_config(
    folder: Path, providers: list[dict[str, Any]], **sections: Any
) -> Path:
    """Write broker.yaml and providers.yaml into a folder; the broker.yaml path."""
    config: dict[str, Any] = {
        "database": "broker.sqlite3",
        "providers_file": "providers.yaml",
        "tenants": [
            {
                "name": "acme",
                "client_uuid": ACME_UUID,
                "api_keys": [TENANT_KEY],
                "requests_per_minute": 100_000,
            },
            {
                "name": "globex",
                "client_uuid": GLOBEX_UUID,
                "api_keys": [OTHER_KEY],
                "requests_per_minute": 100_000,
            },
            {
                "name": "ops",
                "client_uuid": "00000000000000000000000000000001",
                "role": "admin",
                "api_keys": [ADMIN_KEY],
                "requests_per_minute": 100_000,
            },
        ],
        "placement": {"fanout_timeout_s": 1.0},
        "jobs": {"poll_initial_s": 0.05, "poll_max_s": 0.2, "max_duration_s": 10},
        "inventory": {"targeted_delay_s": 0.05},
    }
    for section, values in sections.items():
        if isinstance(values, dict):
            config[section] = {**config.get(section, {}), **values}
        else:
            config[section] = values
    (folder / "providers.yaml").write_text(yaml.safe_dump({"providers": providers}))
    path = folder / "broker.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def broker_factory(
    tmp_path: Path, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> BrokerFactory:
    """Start a broker in this process on a registry of simulators."""

    async def start(sims: list[Simulator] | None = None, **options: Any) -> Broker:
        entries = options.pop("providers", None)
        if entries is None:
            entries = [provider_entry(s) for s in sims or []]
        path = broker_config(tmp_path, entries, **options)
        client = await aiohttp_client(create_app(load_config(path)))
        return Broker(
            client,
            tmp_path,
            {"acme": TENANT_KEY, "globex": OTHER_KEY, "ops": ADMIN_KEY},
        )

    return start
