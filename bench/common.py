"""Shared set-up of the benchmarks: simulators, a broker on a port, a client."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from broker.api.app import create_app
from broker.config import load_config
from broker.sim import SimConfig, Simulator

KEY = "bench-key-0123456789"
ADMIN_KEY = "bench-admin-0123456789"
CLIENT_UUID = "5e96afa52c1a53348adc5c5663978058"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def simulators(count: int, **options: Any) -> AsyncIterator[list[Simulator]]:
    """Start ``count`` simulators on free ports; stop them all afterwards."""
    sims = []
    try:
        for index in range(count):
            sim = Simulator(SimConfig(name=f"sim-{index:03d}", **options))
            await sim.start(
                host="127.0.0.1", compute_port=0, storage_port=0, services_port=0
            )
            sims.append(sim)
        yield sims
    finally:
        for sim in sims:
            await sim.stop()


def write_config(folder: Path, sims: list[Simulator], **sections: Any) -> Path:
    """broker.yaml and providers.yaml for a set of simulators."""
    providers = [
        {
            "name": s.config.name,
            **s.urls,
            "regions": list(s.config.regions),
            "timeout_s": 5,
        }
        for s in sims
    ]
    (folder / "providers.yaml").write_text(yaml.safe_dump({"providers": providers}))
    config: dict[str, Any] = {
        "listen": {"host": "127.0.0.1", "port": free_port()},
        "database": "broker.sqlite3",
        "providers_file": "providers.yaml",
        "tenants": [
            {"name": "bench", "client_uuid": CLIENT_UUID, "api_keys": [KEY]},
            {
                "name": "admin",
                "client_uuid": "00000000000000000000000000000001",
                "role": "admin",
                "api_keys": [ADMIN_KEY],
            },
        ],
        **sections,
    }
    path = folder / "broker.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@asynccontextmanager
async def broker(sims: list[Simulator], **sections: Any) -> AsyncIterator[str]:
    """Run a broker on a free port for these simulators; yield its base URL."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_config(Path(folder), sims, **sections)
        loaded = load_config(path)
        runner = web.AppRunner(create_app(loaded), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", loaded.broker.listen.port)
        await site.start()
        try:
            yield f"http://127.0.0.1:{loaded.broker.listen.port}"
        finally:
            await runner.cleanup()


def rss_mib() -> float:
    """This process's resident memory, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
