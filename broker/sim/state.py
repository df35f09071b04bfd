"""The simulated provider's resources, held in memory, and its capacity.

Nothing here speaks HTTP: handlers translate requests into these calls and
records into wire shapes. Times are monotonic seconds passed in by callers,
so that readiness of asynchronous creates is easy to reason about.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from broker.sim.config import ARCH, SimConfig
from broker.sim.specs import VmSpec, VolumeSpec


class NoCapacity(Exception):
    """The provider cannot host a request; the message says what is short."""


def new_id() -> str:
    """A fresh 32-hex identifier, as C4 examples show them."""
    return uuid.uuid4().hex


def utc_now() -> str:
    """The current time as an ISO 8601 UTC timestamp."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class VmRecord:
    """One VM the provider runs for a tenant."""

    id: str
    tenant: str
    name: str
    spec: VmSpec
    region: str
    ready_at: float
    network: dict[str, str]
    private_network: list[dict[str, str]]
    volumes: list[Any] = field(default_factory=list)
    created_at: str = field(default_factory=utc_now)
    power: str = "running"


@dataclass
class VolumeRecord:
    """One volume, owned by the tenant that created it."""

    id: str
    tenant: str
    name: str
    spec: VolumeSpec
    region: str
    exported_to: set[str] = field(default_factory=set)


@dataclass
class ServiceRecord:
    """One PaaS or SaaS service of a tenant."""

    id: str
    kind: str
    tenant: str
    name: str
    region: str
    request: dict[str, Any]
    ready_at: float
    secret: str
    updated_at: str = field(default_factory=utc_now)


class SimState:
    """Every resource of the simulated provider and the capacity they use."""

    def __init__(self, config: SimConfig, rng: random.Random) -> None:
        self.config = config
        self.rng = rng
        self.vms: dict[str, VmRecord] = {}
        self.volumes: dict[str, VolumeRecord] = {}
        self.services: dict[str, ServiceRecord] = {}

    def free_cores(self) -> int:
        """Cores not taken by any VM."""
        return self.config.cores - sum(vm.spec.slots for vm in self.vms.values())

    def free_memory_mib(self) -> int:
        """Memory in MiB not taken by any VM."""
        used = sum(vm.spec.ram_mib for vm in self.vms.values())
        return self.config.memory_mib - used

    def free_disk_gib(self) -> int:
        """Disk in GiB not taken by any volume."""
        used = sum(volume.spec.size_gib for volume in self.volumes.values())
        return self.config.disk_gib - used

    def free_pci(self) -> dict[str, int]:
        """PCI devices ("vendor:model" to count) not attached to any VM."""
        free = dict(self.config.pci_devices)
        for vm in self.vms.values():
            for device, count in vm.spec.pci:
                free[device] = free.get(device, 0) - count
        return free

    def vm_refusal(self, spec: VmSpec) -> str | None:
        """Why a VM of this shape cannot be hosted now, or ``None`` if it can."""
        if ARCH not in spec.arch:
            return "architecture"
        if spec.slots > self.free_cores():
            return "cores"
        if spec.ram_mib > self.free_memory_mib():
            return "memory"
        free = self.free_pci()
        if any(count > free.get(device, 0) for device, count in spec.pci):
            return "pci"
        return None

    def volume_refusal(self, spec: VolumeSpec) -> str | None:
        """Why a volume of this shape cannot be created now, or ``None``."""
        if spec.size_gib > self.free_disk_gib():
            return "disk"
        return None

    def add_vm(
        self,
        tenant: str,
        name: str,
        spec: VmSpec,
        *,
        region: str,
        ready_at: float,
        volumes: list[Any] | None = None,
    ) -> VmRecord:
        """Create a VM, taking its capacity; raise :class:`NoCapacity` if short."""
        reason = self.vm_refusal(spec)
        if reason is not None:
            raise NoCapacity(reason)
        vm = VmRecord(
            id=new_id(),
            tenant=tenant,
            name=name,
            spec=spec,
            region=region,
            ready_at=ready_at,
            network=self._address("10"),
            private_network=[self._address("192.168")],
            volumes=list(volumes or []),
        )
        self.vms[vm.id] = vm
        return vm

    def remove_vm(self, vm_id: str) -> VmRecord:
        """Delete a VM and free its capacity; ``KeyError`` if unknown."""
        return self.vms.pop(vm_id)

    def vms_of(self, tenant: str) -> list[VmRecord]:
        """The tenant's VMs, oldest first."""
        return [vm for vm in self.vms.values() if vm.tenant == tenant]

    def add_volume(
        self, tenant: str, name: str, spec: VolumeSpec, *, region: str
    ) -> VolumeRecord:
        """Create a volume, taking its disk; raise :class:`NoCapacity` if short."""
        reason = self.volume_refusal(spec)
        if reason is not None:
            raise NoCapacity(reason)
        volume = VolumeRecord(new_id(), tenant, name, spec, region)
        self.volumes[volume.id] = volume
        return volume

    def remove_volume(self, volume_id: str) -> VolumeRecord:
        """Delete a volume and free its disk; ``KeyError`` if unknown."""
        return self.volumes.pop(volume_id)

    def volumes_of(self, tenant: str) -> list[VolumeRecord]:
        """The volumes a tenant created or was given access to, oldest first."""
        return [
            volume
            for volume in self.volumes.values()
            if volume.tenant == tenant or tenant in volume.exported_to
        ]

    def add_service(
        self,
        kind: str,
        tenant: str,
        request: dict[str, Any],
        *,
        region: str,
        ready_at: float,
    ) -> ServiceRecord:
        """Create a service of ``kind`` for the tenant."""
        service_id = new_id()
        name = str(request.get("name") or f"svc-{service_id[:8]}")
        secret = f"{self.rng.getrandbits(64):016x}"
        service = ServiceRecord(
            service_id, kind, tenant, name, region, request, ready_at, secret
        )
        self.services[service.id] = service
        return service

    def remove_service(self, kind: str, service_id: str) -> ServiceRecord:
        """Delete a service; ``KeyError`` if unknown or of another kind."""
        service = self.services[service_id]
        if service.kind != kind:
            raise KeyError(service_id)
        return self.services.pop(service_id)

    def services_of(self, kind: str, tenant: str) -> list[ServiceRecord]:
        """The tenant's services of one kind, oldest first."""
        return [
            service
            for service in self.services.values()
            if service.kind == kind and service.tenant == tenant
        ]

    def _address(self, prefix: str) -> dict[str, str]:
        octets = [self.rng.randrange(256) for _ in range(3)]
        tail = [octets[1], 2 + octets[2] % 252]
        if prefix == "10":
            ipv4 = f"10.{octets[0]}.{tail[0]}.{tail[1]}"
        else:
            ipv4 = f"{prefix}.{tail[0]}.{tail[1]}"
        ipv6 = f"fd00::{octets[0]:x}:{tail[0]:x}{tail[1]:02x}"
        mac = "52:54:00:" + ":".join(f"{octet:02x}" for octet in octets)
        return {"ipv4": ipv4, "ipv6": ipv6, "mac": mac}
