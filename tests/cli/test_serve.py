"""``c4broker serve``: starts from its configuration and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest
from tests.conftest import SimFactory, broker_config, provider_entry
from tests.crash.test_kill import BrokerProcess, free_port

VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}


@pytest.mark.timeout(60)
async def test_sigterm_parks_work_and_exits_zero(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """SIGTERM parks a running job and exits 0; the restart finishes the job."""
    sim = await sim_factory(async_delay_s=1.0)
    port = free_port()
    path = broker_config(
        tmp_path, [provider_entry(sim)], listen={"host": "127.0.0.1", "port": port}
    )
    broker = BrokerProcess(path, port)
    try:
        await broker.start()
        _, created = await broker.call("POST", "/v1/vms", json=VM)
        await sim.wait_for_call("/register")

        assert broker.process is not None
        broker.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(broker.process.wait(), 20) == 0
        await broker.stop()
        assert any("job runner stopped" in line for line in broker.log)

        await broker.start()
        job = await broker.settle(created["job"]["href"])
    finally:
        await broker.stop()
    assert job["status"] == "succeeded"
    assert len(sim.vms("5e96afa52c1a53348adc5c5663978058")) == 1


async def test_serve_refuses_a_broken_configuration(tmp_path: Path) -> None:
    """A broken configuration is refused at start: file:line lines, exit 1."""
    path = broker_config(tmp_path, [{"name": "Bad Name", "compute": "ftp://x"}])
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "broker",
        "serve",
        "--config",
        str(path),
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    lines = err.decode().splitlines()
    assert all(line.startswith(f"{tmp_path / 'providers.yaml'}:") for line in lines)
    assert len(lines) == 2
