"""The JSON shapes the simulated provider answers with, built from its records."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from broker.sim.config import ARCH, SimConfig
from broker.sim.pricing import price_body, vm_hourly, volume_hourly
from broker.sim.specs import VmSpec
from broker.sim.state import ServiceRecord, SimState, VmRecord, VolumeRecord

CPU_FLAGS = ["sse4_2", "avx", "avx2", "aes"]
"""The CPU flags every simulated host advertises."""

CAPABILITIES: dict[str, dict[str, Any]] = {
    "s3": {"api": "s3v4", "versioning": True, "encryption": ["AES256"]},
    "kaas": {"kubernetes_version": "1.30", "autoscaling": True},
    "loadbalancer": {"protocols": ["HTTP", "HTTPS", "TCP"]},
    "elasticip": {"ip_version": 4, "movable": True},
    "dbaas": {"engines": ["postgresql", "mysql"], "backups": True},
    "jupyter": {"kernels": ["python3"], "gpu": False},
}
"""What each service kind claims to support, as shown in ``capabilities``."""


def offered_config(spec: VmSpec, region: str) -> dict[str, Any]:
    """The configuration a ``canallocate`` answer offers for a request."""
    return {
        "slots": spec.slots,
        "overprovision": spec.overprovision,
        "allowSMT": not spec.full_physical,
        "arch": ARCH,
        "flags": list(spec.flags),
        "ramsize": spec.ram_mib,
        "reqECC": spec.ecc,
        "pcidevs": {"devices": dict(spec.pci)},
        "os_family": spec.os_family,
        "os_flavour": spec.os_flavour,
        "region": region,
    }


def _domain_xml(vm: VmRecord) -> str:
    return (
        "<domain type='kvm'>"
        f"<name>{escape(vm.name)}</name><uuid>{vm.id}</uuid>"
        f"<memory unit='MiB'>{vm.spec.ram_mib}</memory>"
        f"<vcpu>{vm.spec.slots}</vcpu>"
        "<os><type arch='x86_64'>hvm</type></os>"
        "</domain>"
    )


def vm_wire(config: SimConfig, vm: VmRecord) -> dict[str, Any]:
    """A VM as ``register`` and ``running`` return it."""
    spec = vm.spec
    req_json = {
        "slots": spec.slots,
        "overprovision": spec.overprovision,
        "allowSMT": not spec.full_physical,
        "arch": ARCH,
        "flags": list(spec.flags),
        "ramsize": spec.ram_mib,
        "reqECC": spec.ecc,
        "volumes": list(vm.volumes),
        "pcidevs": {"devices": dict(spec.pci)},
        "netdevs": [],
        "os_family": spec.os_family,
        "os_flavour": spec.os_flavour,
        "vm_name": vm.name,
        "creation_date": vm.created_at,
        "network_config": dict(vm.network),
        "private_network_config": [dict(net) for net in vm.private_network],
    }
    mesos = {
        "provider": config.name,
        "region": vm.region,
        "price": price_body(config, vm_hourly(config, spec)),
    }
    return {
        "uniqueID": vm.id,
        "req_json": req_json,
        "mesos": mesos,
        "xml": _domain_xml(vm),
    }


def _flag(config: SimConfig, value: bool) -> bool | str:
    # The reference implementation answers booleans as Python's str(bool).
    return str(value) if config.dialect == "reference" else value


def volume_wire(config: SimConfig, volume: VolumeRecord) -> dict[str, Any]:
    """A volume as the storage server returns it."""
    spec = volume.spec
    return {
        "vid": volume.id,
        "creatorID": volume.tenant,
        "name": volume.name,
        "size": spec.size_gib,
        "private": _flag(config, spec.private),
        "readonly": _flag(config, spec.readonly),
        "shareable": _flag(config, spec.shareable),
        "bootable": _flag(config, spec.bootable),
    }


def volume_price(config: SimConfig, size_gib: int) -> dict[str, Any]:
    """The ``PRICE`` a ``cancreate`` answer quotes for a volume."""
    return price_body(config, volume_hourly(config, size_gib))


def _amount(request: dict[str, Any], key: str, default: float) -> float:
    value = request.get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def service_wire(
    config: SimConfig, service: ServiceRecord, now: float
) -> dict[str, Any]:
    """A service as the services server returns it."""
    labels = service.request.get("labels")
    host = f"{service.id[:8]}.{service.kind}.{service.region}.{config.name}.invalid"
    metadata = {
        "id": service.id,
        "name": service.name,
        "user": service.tenant,
        "state": "creating" if now < service.ready_at else "running",
        "region": service.region,
        "updatedAt": service.updated_at,
        "labels": labels if isinstance(labels, dict) else {},
        "credentials": {"username": "admin", "password": service.secret},
        "urls": [f"https://{host}"],
    }
    resources = {
        "cpu": _amount(service.request, "cpu", 1.0),
        "memory": _amount(service.request, "memory", 1024.0),
        "gpu": _amount(service.request, "gpu", 0.0),
    }
    return {
        "metadata": metadata,
        "capabilities": dict(CAPABILITIES.get(service.kind, {})),
        "resources": resources,
    }


def host_capacity(state: SimState) -> dict[str, Any]:
    """The ``statusjson`` answer: what the provider's hosts have and have left."""
    config = state.config
    return {
        "provider": config.name,
        "regions": list(config.regions),
        "cpu": {
            "cores": config.cores,
            "threads": config.cores * 2,
            "available": state.free_cores(),
            "arch": ARCH,
            "flags": list(CPU_FLAGS),
            "frequency": 2.4,
        },
        "memory": {
            "size": config.memory_mib,
            "available": state.free_memory_mib(),
            "ECC": True,
        },
        "pci": {"devices": state.free_pci()},
    }


def status_text(state: SimState) -> str:
    """The plain-text ``status`` answer: a short human summary."""
    config = state.config
    return (
        f"provider {config.name} ({config.dialect} dialect)\n"
        f"regions: {', '.join(config.regions)}\n"
        f"vms: {len(state.vms)}\n"
        f"cores free: {state.free_cores()} of {config.cores}\n"
        f"memory free: {state.free_memory_mib()} of {config.memory_mib} MiB\n"
        f"disk free: {state.free_disk_gib()} of {config.disk_gib} GiB\n"
    )
