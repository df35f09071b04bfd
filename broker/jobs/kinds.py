"""The C4 operations of each kind, behind one shape the jobs and inventory use.

VMs live on the compute server, volumes on the storage server, services on
the services server under ``/{kind}/``. Each kind creates, lists and deletes
differently; this module hides that, and turns what a provider returns into
an :class:`Observed` resource: its id, its provider-side name, its state,
the details a tenant cares about and its price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from broker.c4.client import C4Client
from broker.c4.models import C4Service, C4Vm, C4Volume
from broker.c4.outcome import Accepted, Created
from broker.config import ProviderConfig, Server, server_for
from broker.errors import ProviderProtocolError
from broker.specs import (
    ServiceCreate,
    Spec,
    VmCreate,
    VolumeCreate,
    authentication,
    provider_name,
    vm_requirements,
    volume_flags,
    volume_size,
)


@dataclass(frozen=True)
class Observed:
    """One resource as a provider reports it."""

    provider_id: str
    name: str | None
    details: dict[str, Any]
    price: dict[str, Any] | None = None


@dataclass(frozen=True)
class Target:
    """Where and for whom a create or delete goes."""

    client: C4Client
    provider: ProviderConfig
    kind: str
    client_uuid: str
    region: str | None = None

    @property
    def server(self) -> Server:
        """The provider's server that manages this kind."""
        return server_for(self.kind)


async def create(
    target: Target, body: Spec, resource_id: str, volumes: list[dict[str, Any]]
) -> Created | Accepted:
    """Forward a create; the provider-side name carries the resource id."""
    name = provider_name(body.name, resource_id)
    client = target.client
    if isinstance(body, VmCreate):
        return await client.register(
            vm_requirements(body),
            client_uuid=target.client_uuid,
            vm_name=name,
            volumes=volumes,
            authentication=authentication(body),
            region=target.region,
            asynchronous=True,
        )
    if isinstance(body, VolumeCreate):
        return await client.create_volume(
            creator_id=target.client_uuid,
            name=name,
            size=volume_size(body.size_gib, target.provider),
            region=target.region,
            **volume_flags(body),
        )
    assert isinstance(body, ServiceCreate)
    return await client.create_service(
        target.kind,
        client_uuid=target.client_uuid,
        req={**body.config, "name": name},
        region=target.region,
        asynchronous=True,
    )


async def listing(target: Target) -> list[Observed]:
    """Everything the provider reports for this tenant and kind."""
    client = target.client
    if target.kind == "vm":
        return [_vm(v) for v in await client.running(target.client_uuid)]
    if target.kind == "volume":
        return [_volume(v) for v in await client.accessible(target.client_uuid)]
    services = await client.services_running(target.kind, target.client_uuid)
    return [_service(s) for s in services]


async def delete(target: Target, provider_id: str) -> None:
    """Delete one resource at the provider; ProviderNotFound if already gone."""
    client = target.client
    if target.kind == "vm":
        await client.unregister(provider_id, client_uuid=target.client_uuid)
    elif target.kind == "volume":
        await client.destroy(provider_id)
    else:
        await client.delete_service(
            target.kind, provider_id, client_uuid=target.client_uuid
        )


def observe(kind: str, body: dict[str, Any], provider: str, operation: str) -> Observed:
    """A provider's answer about one resource, understood; or a protocol error."""
    try:
        if kind == "vm":
            return _vm(C4Vm.model_validate(body))
        if kind == "volume":
            return _volume(C4Volume.model_validate(body))
        return _service(C4Service.model_validate(body))
    except ValidationError as exc:
        raise ProviderProtocolError(
            provider, operation, f"Provider {provider} described the {kind} unreadably."
        ) from exc


def _vm(vm: C4Vm) -> Observed:
    details: dict[str, Any] = {"provider_name": vm.name}
    network = vm.req_json.network_config
    if network is not None:
        details.update(ipv4=network.ipv4, ipv6=network.ipv6, mac=network.mac)
    details["private_networks"] = [
        {"ipv4": n.ipv4, "ipv6": n.ipv6, "mac": n.mac}
        for n in vm.req_json.private_network_config
    ]
    details.update(
        cores=vm.req_json.slots,
        memory_mib=vm.req_json.ramsize,
        os={"family": vm.req_json.os_family, "flavour": vm.req_json.os_flavour},
        created=vm.req_json.creation_date,
    )
    price = vm.mesos.price if vm.mesos else None
    return Observed(
        vm.unique_id,
        vm.name,
        details,
        price.model_dump() if price else None,
    )


def _volume(volume: C4Volume) -> Observed:
    details = {
        "provider_name": volume.name,
        "size": volume.size,
        "private": volume.private,
        "readonly": volume.readonly,
        "shareable": volume.shareable,
        "bootable": volume.bootable,
    }
    return Observed(volume.vid, volume.name, details)


def _service(service: C4Service) -> Observed:
    meta = service.metadata
    details = {
        "provider_name": meta.name,
        "state": meta.state,
        "region": meta.region,
        "urls": meta.urls,
        "credentials": meta.credentials,
        "resources": service.resources,
    }
    return Observed(meta.id, meta.name, details)
