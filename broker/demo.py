"""``c4broker demo``: the broker on SQLite with three simulated providers.

The providers differ the way real ones do: one is cheap but short of
capacity and speaks the documented dialect, one speaks the reference
implementation's dialect and creates asynchronously, one is dear but has
room for anything. Everything the demo writes stays under one folder.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from broker.api.app import create_app, serve
from broker.config import load_config
from broker.sim import SimConfig, Simulator

log = logging.getLogger(__name__)

DEMO_PROVIDERS = (
    (
        SimConfig(
            name="sim-cheap",
            dialect="docs",
            regions=["eu-west"],
            price_core_hour=0.01,
            price_mem_gib_month=1.5,
            price_disk_gib_month=0.03,
            cores=4,
            memory_mib=8192,
            disk_gib=200,
        ),
        0,
    ),
    (
        SimConfig(
            name="sim-ref",
            dialect="reference",
            regions=["eu-west", "eu-central"],
            price_core_hour=0.02,
            price_mem_gib_month=3.0,
            price_disk_gib_month=0.05,
            async_delay_s=1.0,
        ),
        10,
    ),
    (
        SimConfig(
            name="sim-dear",
            dialect="docs",
            regions=["eu-central"],
            price_core_hour=0.05,
            price_mem_gib_month=6.0,
            price_disk_gib_month=0.10,
            cores=512,
            memory_mib=2 * 1024 * 1024,
        ),
        20,
    ),
)


def sim_ports(base: int, offset: int) -> tuple[int, int, int]:
    """Compute, storage and services ports of one simulator (C4's 7777/7772/7770)."""
    return base + offset + 7, base + offset + 2, base + offset


def demo_files(folder: Path, port: int, key: str, base: int) -> Path:
    """Write the demo's broker.yaml and providers.yaml; the broker.yaml path."""
    providers = []
    for config, offset in DEMO_PROVIDERS:
        compute, storage, services = sim_ports(base, offset)
        providers.append(
            {
                "name": config.name,
                "compute": f"http://127.0.0.1:{compute}",
                "storage": f"http://127.0.0.1:{storage}",
                "services": f"http://127.0.0.1:{services}",
                "regions": list(config.regions),
                "labels": {"dialect": config.dialect},
            }
        )
    broker: dict[str, Any] = {
        "listen": {"host": "127.0.0.1", "port": port},
        "database": "broker.sqlite3",
        "providers_file": "providers.yaml",
        "tenants": [
            {
                "name": "demo",
                "client_uuid": "5e96afa52c1a53348adc5c5663978058",
                "api_keys": [key],
            },
        ],
        "jobs": {"poll_initial_s": 0.5, "poll_max_s": 5, "max_duration_s": 300},
        "inventory": {"refresh_interval_s": 30},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "providers.yaml").write_text(yaml.safe_dump({"providers": providers}))
    path = folder / "broker.yaml"
    path.write_text(yaml.safe_dump(broker, sort_keys=False))
    return path


def _demo_key(folder: Path) -> str:
    file = folder / "demo.key"
    if file.exists():
        return file.read_text().strip()
    folder.mkdir(parents=True, exist_ok=True)
    key = "demo-" + secrets.token_hex(12)
    file.write_text(key + "\n")
    file.chmod(0o600)
    return key


def _prepare(var: str, port: int, base: int) -> tuple[str, Path]:
    folder = Path(var).resolve()
    key = _demo_key(folder)
    return key, demo_files(folder, port, key, base)


def instructions(url: str, key: str) -> str:
    """What the demo prints: where it runs, a key, and three working curl lines."""
    auth = f"-H 'Authorization: Bearer {key}'"
    body = '{"name": "web-1", "cpu": {"cores": 2}, "memory_mib": 4096}'
    parse_id = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"id\"])'"
    return "\n".join(
        [
            f"C4 broker demo running at {url}",
            f"tenant 'demo' API key: {key}",
            "",
            "Create a VM (waits up to 10 s), then show it, then delete it:",
            f"  ID=$(curl -s -X POST '{url}/v1/vms?wait=10' {auth} "
            f"-H 'Content-Type: application/json' -d '{body}' | {parse_id}); echo $ID",
            f"  curl -s -w '\\n' {url}/v1/vms/$ID {auth}",
            f"  curl -s -w '\\n' -X DELETE {url}/v1/vms/$ID {auth}",
            "",
            f"API documentation: {url}/docs    Ctrl-C stops everything.",
        ]
    )


async def run_demo(
    port: int, var: str, base: int, announce: Callable[[str], None]
) -> int:
    """Run the simulators and the broker until cancelled."""
    key, config_path = await asyncio.to_thread(_prepare, var, port, base)
    sims = []
    try:
        for config, offset in DEMO_PROVIDERS:
            compute, storage, services = sim_ports(base, offset)
            sim = Simulator(config)
            await sim.start(
                host="127.0.0.1",
                compute_port=compute,
                storage_port=storage,
                services_port=services,
            )
            sims.append(sim)
        loaded = load_config(config_path)
        url = f"http://127.0.0.1:{port}"
        await serve(
            create_app(loaded),
            "127.0.0.1",
            port,
            ready=lambda: announce(instructions(url, key)),
        )
    finally:
        for sim in sims:
            await sim.stop()
    return 0
