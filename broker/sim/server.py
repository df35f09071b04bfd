"""The simulated provider as one object: three servers over one in-memory state."""

from __future__ import annotations

import asyncio
import logging
import random
from types import TracebackType
from typing import Any

from aiohttp import web

from broker.sim.compute import add_compute_routes
from broker.sim.config import Faults, SimConfig
from broker.sim.context import SIM_KEY, SimContext
from broker.sim.errors import protocol_middleware
from broker.sim.faults import fault_middleware
from broker.sim.handling import add_common_routes, now
from broker.sim.services import add_services_routes
from broker.sim.shapes import service_wire, vm_wire, volume_wire
from broker.sim.specs import VmSpec
from broker.sim.state import NoCapacity, SimState
from broker.sim.storage import add_storage_routes

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 2.0
"""How long stopping waits for requests still being answered."""

SERVERS = ("compute", "storage", "services")
"""The simulator's servers, in the order they start."""


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class Simulator:
    """A complete C4 provider in memory: compute, storage and services servers.

    Use it as an async context manager, or call :meth:`start` and
    :meth:`stop`. Tests steer it through :attr:`faults` and inspect it
    through :attr:`calls`, :attr:`state` and the listing helpers.
    """

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.state = SimState(config, random.Random(config.seed))
        self._ctx = SimContext(config, self.state, fault_rng=random.Random(config.seed))
        self._runners: list[web.AppRunner] = []

    @property
    def faults(self) -> Faults:
        """The faults injected into every answer; mutable at run time."""
        return self._ctx.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._ctx.faults = faults

    @property
    def calls(self) -> list[tuple[str, str]]:
        """Every request received so far, as ``(method, path)`` in order."""
        return self._ctx.calls

    async def wait_for_call(self, path_suffix: str, count: int = 1) -> None:
        """Return once ``count`` requests whose path ends so have arrived."""
        while sum(p.endswith(path_suffix) for _, p in self._ctx.calls) < count:
            self._ctx.call_seen.clear()
            await self._ctx.call_seen.wait()

    @property
    def urls(self) -> dict[str, str]:
        """The base URL of each started server, keyed by server name."""
        return dict(self._ctx.urls)

    def _app(self, server: str) -> web.Application:
        app = web.Application(middlewares=[fault_middleware, protocol_middleware])
        app[SIM_KEY] = self._ctx
        add_common_routes(app.router)
        reference = self.config.dialect == "reference"
        if server == "compute":
            add_compute_routes(app.router)
        elif server == "storage":
            add_storage_routes(app.router, reference)
        else:
            add_services_routes(app.router, reference)
        return app

    async def _serve(self, server: str, host: str, port: int) -> None:
        runner = web.AppRunner(self._app(server), shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, host, port).start()
        bound_port = runner.addresses[0][1]
        self._ctx.urls[server] = _base_url(host, bound_port)

    async def start(
        self,
        host: str = "127.0.0.1",
        compute_port: int = 0,
        storage_port: int = 0,
        services_port: int = 0,
    ) -> None:
        """Start the three servers; a port of 0 lets the system choose one."""
        if self._runners:
            raise RuntimeError("The simulator is already running.")
        self._ctx.released = asyncio.Event()
        ports = dict(
            zip(SERVERS, (compute_port, storage_port, services_port), strict=True)
        )
        try:
            for server in SERVERS:
                await self._serve(server, host, ports[server])
        except BaseException:
            await self.stop()
            raise
        logger.info(
            "sim started provider=%s dialect=%s compute=%s storage=%s services=%s",
            self.config.name,
            self.config.dialect,
            *(self._ctx.urls[server] for server in SERVERS),
        )

    async def stop(self) -> None:
        """Release hung requests and shut the servers down."""
        self._ctx.released.set()
        runners, self._runners = self._runners, []
        for runner in reversed(runners):
            await runner.cleanup()
        self._ctx.urls.clear()
        if runners:
            logger.info("sim stopped provider=%s", self.config.name)

    async def __aenter__(self) -> Simulator:
        """Start on free ports of 127.0.0.1."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the servers."""
        await self.stop()

    def vms(self, client_uuid: str) -> list[dict[str, Any]]:
        """The tenant's VMs, as ``running`` lists them."""
        return [vm_wire(self.config, vm) for vm in self.state.vms_of(client_uuid)]

    def volumes(self, client_uuid: str) -> list[dict[str, Any]]:
        """The volumes the tenant may use, as ``accessible`` lists them."""
        volumes = self.state.volumes_of(client_uuid)
        return [volume_wire(self.config, volume) for volume in volumes]

    def services(self, kind: str, client_uuid: str) -> list[dict[str, Any]]:
        """The tenant's services of one kind, as ``{kind}/running`` lists them."""
        at = now()
        services = self.state.services_of(kind, client_uuid)
        return [service_wire(self.config, service, at) for service in services]

    def add_vm(
        self, client_uuid: str, name: str, cores: int = 1, memory_mib: int = 1024
    ) -> str:
        """Create a ready VM as if made outside the broker; return its id."""
        spec = VmSpec(slots=cores, ram_mib=memory_mib)
        try:
            vm = self.state.add_vm(
                client_uuid,
                name,
                spec,
                region=self.config.default_region,
                ready_at=now(),
            )
        except NoCapacity as exc:
            raise ValueError(f"No capacity left for this VM ({exc}).") from exc
        return vm.id

    def remove_vm(self, vm_id: str) -> None:
        """Delete a VM as if outside the broker; ``KeyError`` if unknown."""
        self.state.remove_vm(vm_id)
