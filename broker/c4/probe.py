"""The conformance probe: what an operator checks before registering a provider.

For each server given, the probe checks that it answers at all, which
endpoints it serves and in which dialect, how it formats prices, and
whether an asynchronous create can be followed. Unless told to stay
read-only, it creates a small VM, a small volume and an s3 bucket under a
tenant of its own, lists them, and removes them again.
"""

from __future__ import annotations

import logging

import aiohttp

from broker.c4.models import CpuRequirements, MemRequirements, VmRequirements
from broker.c4.probe_checks import dialect_summary
from broker.c4.probe_report import ProbeReport
from broker.c4.probe_steps import UNKNOWN_ID, Prober, RecordingClient
from broker.config import ProviderConfig, Server
from broker.errors import ProviderError

logger = logging.getLogger(__name__)

PROBE_VM = VmRequirements(
    cpu=CpuRequirements(slots=1), mem=MemRequirements(capacity=512)
)
"""The test VM: one core and 512 MiB."""

PROBE_VOLUME_SIZE = 1
"""The test volume's size in the C4 "GB" (GiB)."""

PROBE_SERVICE_KIND = "s3"
"""The service kind the probe creates: the simplest one, a bucket."""


def probe_config(
    *,
    compute: str | None,
    storage: str | None = None,
    services: str | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
) -> ProviderConfig:
    """The registry entry the probe uses: the given servers, dialect detected."""
    return ProviderConfig(
        name="probe",
        compute=compute,
        storage=storage,
        services=services,
        headers=headers or {},
        timeout_s=timeout_s,
        dialect="auto",
    )


async def probe_provider(
    provider: ProviderConfig,
    session: aiohttp.ClientSession,
    *,
    read_only: bool = False,
    async_wait_s: float = 30.0,
    max_poll_interval_s: float = 2.0,
) -> ProbeReport:
    """Check one provider's C4 conformance and return the full report.

    An asynchronous create is followed for at most ``async_wait_s``, asking
    again when the provider's Retry-After says, but at least every
    ``max_poll_interval_s``.
    """
    client = RecordingClient(provider, session)
    prober = _Prober(
        client,
        read_only=read_only,
        async_wait_s=async_wait_s,
        max_poll_interval_s=max_poll_interval_s,
    )
    for server in ("compute", "storage", "services"):
        if provider.base_url(server) is not None:
            await prober.server(server)
    prober.report.dialect = dialect_summary(
        provider, client, prober.repaired_urls, prober.unreached
    )
    logger.info(
        "c4 probe done usable=%s checks=%d",
        prober.report.usable,
        len(prober.report.checks),
    )
    return prober.report


class _Prober(Prober):
    """Strings checks into the probe of each server."""

    async def server(self, server: Server) -> None:
        """Run every check of one server."""
        if not await self.reach(server):
            return
        await self.attempt(
            server,
            "GET /health",
            "health",
            lambda: self.client.health(server),
            required=False,
        )
        steps = {
            "compute": self.compute,
            "storage": self.storage,
            "services": self.services,
        }
        await steps[server]()
        if not self.read_only:
            await self.sweep(server)

    async def sweep(self, server: Server) -> None:
        """Remove whatever the probe's tenant still has, such as lost creates."""
        try:
            removed = await self._sweep(server)
        except ProviderError as exc:
            logger.warning(
                "c4 probe cleanup failed server=%s outcome=%s", server, exc.outcome
            )
            return
        if removed:
            detail = f"Removed {removed} resource(s) the probe had lost track of."
            self.add(server, "cleanup", "wrong", detail, False)

    async def _sweep(self, server: Server) -> int:
        c, tenant = self.client, self.tenant
        if server == "compute":
            vm_ids = [vm.unique_id for vm in await c.running(tenant)]
            for vm_id in vm_ids:
                await c.unregister(vm_id, client_uuid=tenant)
            return len(vm_ids)
        if server == "storage":
            volume_ids = [v.vid for v in await c.accessible(tenant)]
            for volume_id in volume_ids:
                await c.destroy(volume_id)
            return len(volume_ids)
        kind = PROBE_SERVICE_KIND
        service_ids = [s.metadata.id for s in await c.services_running(kind, tenant)]
        for service_id in service_ids:
            await c.delete_service(kind, service_id, client_uuid=tenant)
        return len(service_ids)

    async def compute(self) -> None:
        """Check the compute server: status, quote, and a VM's whole life."""
        c = self.client
        for endpoint, op, call in (
            ("GET /status", "status", c.status),
            ("GET /statusjson", "statusjson", c.statusjson),
        ):
            await self.attempt("compute", endpoint, op, call, required=False)
        quote = await self.attempt(
            "compute",
            "GET /canallocate",
            "canallocate",
            lambda: c.canallocate(PROBE_VM, client_uuid=self.tenant),
        )
        self.price("compute", "canallocate", quote)
        if self.read_only:
            await self.attempt(
                "compute", "GET /running", "running", lambda: c.running(self.tenant)
            )
            await self.attempt(
                "compute",
                "GET /running/{id}",
                "vm_info",
                lambda: c.vm_info(UNKNOWN_ID),
                unknown_id=True,
            )
            return
        await self.vm_life()

    async def vm_life(self) -> None:
        """Create a VM asynchronously and follow it, then check and remove it."""
        c = self.client
        created = await self.attempt(
            "compute",
            "POST /register",
            "register",
            lambda: c.register(
                PROBE_VM,
                client_uuid=self.tenant,
                vm_name="c4broker-probe",
                volumes=[],
                authentication=None,
                asynchronous=True,
            ),
        )
        later = ("GET /running", "GET /running/{id}", "DELETE /unregister")
        if created is None:
            self.skip("compute", later, "Needs the test VM, which was not created.")
            return
        vm_id = await self.follow("compute", "register", created.value)
        if not vm_id:
            self.skip("compute", later, "The provider named no id for the test VM.")
            return
        await self.vm_checks(vm_id)

    async def vm_checks(self, vm_id: str) -> None:
        """List and show the test VM, then remove it whatever happened."""
        c = self.client
        try:
            await self.listed(
                "compute",
                "GET /running",
                "running",
                lambda: c.running(self.tenant),
                lambda vms: any(v.unique_id == vm_id for v in vms),
            )
            await self.attempt(
                "compute", "GET /running/{id}", "vm_info", lambda: c.vm_info(vm_id)
            )
        finally:
            await self.attempt(
                "compute",
                "DELETE /unregister",
                "unregister",
                lambda: c.unregister(vm_id, client_uuid=self.tenant),
            )

    async def storage(self) -> None:
        """Check the storage server: quote, and a volume's whole life."""
        c = self.client
        quote = await self.attempt(
            "storage",
            "GET /cancreate",
            "cancreate",
            lambda: c.cancreate(
                size=PROBE_VOLUME_SIZE,
                private=True,
                readonly=False,
                shareable=False,
                bootable=False,
            ),
        )
        self.price("storage", "cancreate", quote)
        if self.read_only:
            await self.attempt(
                "storage",
                "POST /accessible",
                "accessible",
                lambda: c.accessible(self.tenant),
            )
            await self.attempt(
                "storage",
                "POST /info",
                "volume_info",
                lambda: c.volume_info(UNKNOWN_ID),
                unknown_id=True,
            )
            return
        await self.volume_life()

    async def volume_life(self) -> None:
        """Create a volume, show it, list it, destroy it."""
        c = self.client
        created = await self.attempt(
            "storage",
            "POST /create",
            "create_volume",
            lambda: c.create_volume(
                creator_id=self.tenant,
                name="c4broker-probe",
                size=PROBE_VOLUME_SIZE,
                private=True,
                readonly=False,
                shareable=False,
                bootable=False,
            ),
        )
        if created is None:
            later = ("POST /info", "POST /accessible", "POST /destroy")
            self.skip("storage", later, "Needs the test volume, which was not created.")
            return
        volume_id = created.value.provider_id
        try:
            await self.attempt(
                "storage", "POST /info", "volume_info", lambda: c.volume_info(volume_id)
            )
            await self.listed(
                "storage",
                "POST /accessible",
                "accessible",
                lambda: c.accessible(self.tenant),
                lambda vols: any(v.vid == volume_id for v in vols),
            )
        finally:
            await self.attempt(
                "storage", "POST /destroy", "destroy", lambda: c.destroy(volume_id)
            )

    async def services(self) -> None:
        """Check the services server with an s3 bucket's whole life."""
        c = self.client
        kind = PROBE_SERVICE_KIND
        if self.read_only:
            await self.attempt(
                "services",
                f"GET /{kind}/running",
                "services_running",
                lambda: c.services_running(kind, self.tenant),
            )
            await self.attempt(
                "services",
                f"GET /{kind}/info",
                "service_info",
                lambda: c.service_info(kind, UNKNOWN_ID),
                unknown_id=True,
            )
            return
        await self.service_life(kind)

    async def service_life(self, kind: str) -> None:
        """Create a service asynchronously and follow it, then check and delete it."""
        created = await self.attempt(
            "services",
            f"POST /{kind}/create",
            "create_service",
            lambda: self.client.create_service(
                kind, client_uuid=self.tenant, req={"name": "c4broker-probe"}
            ),
        )
        later = (f"GET /{kind}/info", f"GET /{kind}/running", f"DELETE /{kind}/delete")
        if created is None:
            self.skip("services", later, "Needs the test service; it was not created.")
            return
        service_id = await self.follow("services", "create_service", created.value)
        if not service_id:
            self.skip("services", later, "The provider named no id for the service.")
            return
        await self.service_checks(kind, service_id)

    async def service_checks(self, kind: str, service_id: str) -> None:
        """Show and list the test service, then delete it whatever happened."""
        c = self.client
        try:
            await self.attempt(
                "services",
                f"GET /{kind}/info",
                "service_info",
                lambda: c.service_info(kind, service_id),
            )
            await self.listed(
                "services",
                f"GET /{kind}/running",
                "services_running",
                lambda: c.services_running(kind, self.tenant),
                lambda found: any(s.metadata.id == service_id for s in found),
            )
        finally:
            await self.attempt(
                "services",
                f"DELETE /{kind}/delete",
                "delete_service",
                lambda: c.delete_service(kind, service_id, client_uuid=self.tenant),
            )
