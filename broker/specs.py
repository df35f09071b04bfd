"""What tenants ask for: the create bodies of the API and their C4 translation.

The API validates requests with these models; placement and the job runner
turn them into what a provider expects (cores into ``slots``, GiB into the
provider's volume unit, the broker's resource id into the provider-side
name so that a lost answer can be found again).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from broker.c4.models import VmRequirements
from broker.config import NAME_PATTERN, ProviderConfig

GIB = 2**30
MAX_CONFIG_NESTING = 32
"""Service configs nest shallowly; deeper ones could not be stored or answered."""
_GPU_PART = r"^[0-9a-fA-F]{4}$"


class _Body(BaseModel):
    # Strict: a number is not a string nor a flag, as the API's document says;
    # "2" for cores or 1 for true is a mistake worth telling, not guessing.
    model_config = ConfigDict(extra="forbid", strict=True)


class PlacementSpec(_Body):
    """Constraints that narrow the candidate providers of one request."""

    providers: list[str] = Field(default_factory=list, max_length=1000)
    exclude: list[str] = Field(default_factory=list, max_length=1000)
    regions: list[str] = Field(default_factory=list, max_length=100)
    max_hourly_price: float | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")


class CpuSpec(_Body):
    """The processor a VM needs."""

    cores: int = Field(ge=1, le=1024)
    min_frequency_ghz: float | None = Field(default=None, ge=0, le=20)
    arch: list[str] = Field(default_factory=lambda: ["X86_64"], max_length=8)
    flags: list[str] = Field(default_factory=list, max_length=64)
    full_physical: bool = False
    max_overprovision: float = Field(default=1, ge=1, le=64)


class GpuSpec(_Body):
    """A PCI device a VM needs, by vendor and model id."""

    vendor: str = Field(pattern=_GPU_PART)
    model: str = Field(pattern=_GPU_PART)
    count: int = Field(default=1, ge=1, le=64)


class OsSpec(_Body):
    """The operating system a VM runs."""

    family: str = Field(default="linux", max_length=64)
    flavour: str = Field(default="debian", max_length=64)


class AuthSpec(_Body):
    """How the tenant logs into a VM; never shown back in answers."""

    username: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=256)
    ssh_key: str | None = Field(default=None, max_length=8192)


class _Create(_Body):
    name: str = Field(min_length=1, max_length=63, pattern=NAME_PATTERN)
    placement: PlacementSpec = Field(default_factory=PlacementSpec)


class VmCreate(_Create):
    """``POST /v1/vms``: a virtual machine."""

    cpu: CpuSpec
    memory_mib: int = Field(ge=64, le=16 * 1024 * 1024)
    ecc: bool = False
    gpus: list[GpuSpec] = Field(default_factory=list, max_length=16)
    os: OsSpec = Field(default_factory=OsSpec)
    volumes: list[str] = Field(default_factory=list, max_length=32)
    auth: AuthSpec | None = None


class VolumeCreate(_Create):
    """``POST /v1/volumes``: a volume."""

    size_gib: int = Field(ge=1, le=1024 * 1024)
    bootable: bool = False
    shareable: bool = False
    readonly: bool = False
    private: bool = True


class ServiceCreate(_Create):
    """``POST /v1/services/{kind}``: a PaaS or SaaS service."""

    config: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Kind-specific settings, passed on to the provider as the C4 req; "
            f"at most 64 KiB and {MAX_CONFIG_NESTING} levels deep."
        ),
    )

    @field_validator("config")
    @classmethod
    def _small_config(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(repr(value)) > 64 * 1024:
            raise ValueError("The service config must stay under 64 KiB.")
        if nesting(value) > MAX_CONFIG_NESTING:
            raise ValueError(
                f"The service config must nest at most {MAX_CONFIG_NESTING} levels."
            )
        return value


def nesting(value: Any) -> int:
    """How many objects and arrays deep a decoded JSON value goes."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in node)
    return deepest


CreateBody = VmCreate | VolumeCreate | ServiceCreate
Spec = CreateBody


def body_model(kind: str) -> type[CreateBody]:
    """The create body model of a kind."""
    if kind == "vm":
        return VmCreate
    if kind == "volume":
        return VolumeCreate
    return ServiceCreate


def public_spec(body: CreateBody) -> dict[str, Any]:
    """The spec as stored and shown back: everything but secrets."""
    return body.model_dump(mode="json", exclude={"auth"}, exclude_none=True)


def provider_name(name: str, resource_id: str) -> str:
    """The provider-side name: the tenant's name tagged with the resource id."""
    return f"{name}--{resource_id}"


_TAG = re.compile(r"--([0-9a-f]{32})$")


def resource_id_in(provider_side_name: str | None) -> str | None:
    """The broker resource id carried by a provider-side name, if any."""
    if not provider_side_name:
        return None
    match = _TAG.search(provider_side_name)
    return match.group(1) if match else None


def vm_requirements(body: VmCreate) -> VmRequirements:
    """The C4 ``req`` of a VM body."""
    devices: dict[str, int] = {}
    for gpu in body.gpus:
        key = f"{gpu.vendor.lower()}:{gpu.model.lower()}"
        devices[key] = devices.get(key, 0) + gpu.count
    return VmRequirements.model_validate(
        {
            "cpu": {
                "slots": body.cpu.cores,
                "fullPhysical": body.cpu.full_physical,
                "maxOverprovision": body.cpu.max_overprovision,
                "min_frequency": body.cpu.min_frequency_ghz or 0,
                "arch": body.cpu.arch,
                "flags": body.cpu.flags,
            },
            "mem": {"capacity": body.memory_mib, "requireECC": body.ecc},
            "pci": {"devices": devices},
            "misc": {"os_family": body.os.family, "os_flavour": body.os.flavour},
        }
    )


def authentication(body: VmCreate) -> dict[str, str] | None:
    """The C4 ``authentication`` block of a VM body."""
    if body.auth is None:
        return None
    fields = {
        "username": body.auth.username,
        "password": body.auth.password,
        "ssh-key": body.auth.ssh_key,
    }
    return {k: v for k, v in fields.items() if v is not None}


def volume_size(size_gib: int, provider: ProviderConfig) -> int:
    """A volume size in the unit the provider expects."""
    return size_gib * GIB if provider.volume_size_unit == "bytes" else size_gib


VolumeFlags = Literal["private", "readonly", "shareable", "bootable"]


def volume_flags(body: VolumeCreate) -> dict[VolumeFlags, bool]:
    """The four C4 volume flags of a volume body."""
    return {
        "private": body.private,
        "readonly": body.readonly,
        "shareable": body.shareable,
        "bootable": body.bootable,
    }
