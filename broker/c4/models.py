"""Pydantic models of the C4 wire shapes.

Models of what providers send are tolerant: unknown keys and ``py/object``
pickling keys are ignored, numbers and booleans may arrive as strings, nested
objects may arrive as JSON strings, and identifiers go by several names.
Models of what the broker sends are strict: they serialise to exactly the
documented shape, with the documented key spellings.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from broker import jsontext


def _maybe_json(value: Any) -> Any:
    """A JSON object that arrived as a string, decoded; anything else as is."""
    if isinstance(value, str) and value.strip().startswith(("{", "[")):
        try:
            return jsontext.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def _as_list(value: Any) -> Any:
    """A single string as a one-item list; None as an empty list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


class _Wire(BaseModel):
    """Base of every model read from a provider: tolerant of spelling and noise."""

    model_config = ConfigDict(
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        coerce_numbers_to_str=True,
    )


class C4Price(_Wire):
    """A provider's price: currency and amounts per hour and per month."""

    currency: str = Field(min_length=1)
    hourly: float = Field(ge=0)
    monthly: float = Field(ge=0)


class CpuRequirements(_Wire):
    """The CPU part of a VM request."""

    slots: int = Field(ge=1)
    full_physical: bool = Field(
        default=False,
        validation_alias=AliasChoices("fullPhysical", "full_physical"),
        serialization_alias="fullPhysical",
    )
    max_overprovision: int = Field(
        default=1,
        ge=1,
        validation_alias=AliasChoices("maxOverprovision", "max_overprovision"),
        serialization_alias="maxOverprovision",
    )
    min_frequency: float = Field(default=0.0, ge=0)
    arch: list[str] = Field(default_factory=lambda: ["X86_64"])
    flags: list[str] = Field(default_factory=list)

    @field_validator("arch", "flags", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _as_list(value)


class MemRequirements(_Wire):
    """The memory part of a VM request; ``capacity`` is in MiB."""

    capacity: int = Field(ge=1)
    require_ecc: bool = Field(
        default=False,
        validation_alias=AliasChoices("requireECC", "reqECC", "require_ecc"),
        serialization_alias="requireECC",
    )


class PciRequirements(_Wire):
    """PCI devices wanted, as ``"vendor:model"`` mapped to a quantity."""

    devices: dict[str, int] = Field(default_factory=dict)

    @field_validator("devices", mode="before")
    @classmethod
    def _devices(cls, value: Any) -> Any:
        return _maybe_json(value) or {}


class MiscRequirements(_Wire):
    """The operating system wanted."""

    os_family: str = "linux"
    os_flavour: str = "debian"


class VmRequirements(_Wire):
    """What a VM needs, as ``canallocate`` and ``register`` carry it in ``req``."""

    cpu: CpuRequirements
    mem: MemRequirements
    pci: PciRequirements = Field(default_factory=PciRequirements)
    misc: MiscRequirements = Field(default_factory=MiscRequirements)

    @model_validator(mode="before")
    @classmethod
    def _decode(cls, value: Any) -> Any:
        value = _maybe_json(value)
        if isinstance(value, dict):
            return {key: _maybe_json(item) for key, item in value.items()}
        return value

    def to_wire(self) -> dict[str, Any]:
        """The requirements exactly as the protocol documents ``req``."""
        return self.model_dump(mode="json", by_alias=True)


class VmRequest(_Wire):
    """The body of ``canallocate``: a tenant and what its VM needs."""

    client_uuid: str = Field(
        min_length=1, validation_alias=AliasChoices("client_uuid", "client_uid")
    )
    req: VmRequirements

    def to_wire(self) -> dict[str, Any]:
        """The request body exactly as the protocol documents it."""
        return {"client_uuid": self.client_uuid, "req": self.req.to_wire()}


class NetworkConfig(_Wire):
    """One network interface of a VM."""

    ipv4: str | None = None
    ipv6: str | None = None
    mac: str | None = None


class VmDetails(_Wire):
    """The ``req_json`` of a running VM: what it got, named as providers name it."""

    vm_name: str | None = None
    slots: int | None = None
    overprovision: int | None = None
    allow_smt: bool | None = Field(
        default=None, validation_alias=AliasChoices("allowSMT", "allow_smt")
    )
    arch: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    ramsize: int | None = None
    req_ecc: bool | None = Field(
        default=None, validation_alias=AliasChoices("reqECC", "requireECC")
    )
    volumes: list[Any] = Field(default_factory=list)
    pcidevs: dict[str, Any] = Field(default_factory=dict)
    netdevs: list[Any] = Field(default_factory=list)
    os_family: str | None = None
    os_flavour: str | None = None
    creation_date: str | None = None
    network_config: NetworkConfig | None = None
    private_network_config: list[NetworkConfig] = Field(default_factory=list)

    @field_validator(
        "arch", "flags", "volumes", "netdevs", "private_network_config", mode="before"
    )
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _as_list(_maybe_json(value))

    @field_validator("pcidevs", "network_config", mode="before")
    @classmethod
    def _objects(cls, value: Any) -> Any:
        return _maybe_json(value)


class Mesos(_Wire):
    """The ``mesos`` part of a running VM: which provider, at what price."""

    provider: str | None = None
    price: C4Price | None = None


class C4Vm(_Wire):
    """A VM as ``running``, ``running/{id}`` and ``register`` return it."""

    unique_id: str = Field(
        min_length=1,
        validation_alias=AliasChoices("uniqueID", "vm_uuid", "uuid", "id"),
    )
    req_json: VmDetails = Field(default_factory=VmDetails)
    mesos: Mesos | None = None
    xml: str | None = None

    @field_validator("req_json", "mesos", mode="before")
    @classmethod
    def _details(cls, value: Any) -> Any:
        return _maybe_json(value) or {}

    @property
    def name(self) -> str | None:
        """The VM's name, as given to ``register``."""
        return self.req_json.vm_name


class C4Volume(_Wire):
    """A volume as ``create``, ``info`` and ``accessible`` return it."""

    vid: str = Field(
        min_length=1,
        validation_alias=AliasChoices(
            "vid", "volume_id", "volume_uuid", "volumeID", "uniqueID", "id"
        ),
    )
    creator_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices("creatorID", "creator_id", "client_uuid"),
    )
    name: str | None = None
    size: int | float | None = None
    private: bool = False
    readonly: bool = False
    shareable: bool = False
    bootable: bool = False


class ServiceMetadata(_Wire):
    """The ``metadata`` of a service: identity, owner, state and where it runs."""

    id: str = Field(
        min_length=1, validation_alias=AliasChoices("id", "uuid", "service_id")
    )
    name: str | None = None
    user: str | None = None
    state: str | None = None
    region: str | None = None
    updated_at: str | None = Field(
        default=None, validation_alias=AliasChoices("updatedAt", "updated_at")
    )
    labels: dict[str, Any] = Field(default_factory=dict)
    credentials: Any = None
    urls: Any = None

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, value: Any) -> Any:
        return _maybe_json(value) or {}


class C4Service(_Wire):
    """A PaaS or SaaS service as ``{kind}/create``, ``info`` and ``running`` give it."""

    metadata: ServiceMetadata
    capabilities: dict[str, Any] = Field(default_factory=dict)
    resources: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, value: Any) -> Any:
        value = _maybe_json(value)
        if isinstance(value, dict) and "metadata" not in value and "id" in value:
            return {"metadata": value}
        if isinstance(value, dict):
            return {key: _maybe_json(item) for key, item in value.items()}
        return value


class _Outgoing(BaseModel):
    """Base of every body the broker sends: exact types, no unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def to_wire(self) -> dict[str, Any]:
        """The body exactly as the protocol documents it."""
        return self.model_dump(mode="json", by_alias=True)


class VolumeOptions(_Outgoing):
    """The body of ``cancreate``: the size (in the provider's unit) and the flags."""

    size: int = Field(ge=1)
    private: bool = False
    readonly: bool = False
    shareable: bool = False
    bootable: bool = False


class VolumeCreate(VolumeOptions):
    """The body of the storage ``create``: the options plus creator and name."""

    creator_id: str = Field(min_length=1, serialization_alias="creatorID")
    name: str = Field(min_length=1)


class VmRegister(_Outgoing):
    """The body of ``register``: a tenant, a name, the requirements and extras."""

    client_uuid: str = Field(min_length=1)
    vm_name: str = Field(min_length=1)
    req: dict[str, Any]
    volumes: list[dict[str, Any]] = Field(default_factory=list)
    authentication: dict[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        """The register body, without ``authentication`` when there is none."""
        body = super().to_wire()
        if body["authentication"] is None:
            del body["authentication"]
        return body


class ServiceCreate(_Outgoing):
    """The body of ``{kind}/create``: a tenant and the kind-specific request."""

    client_uuid: str = Field(min_length=1)
    req: dict[str, Any]


class AllocationInfo(_Wire):
    """The ``info`` part of a ``canallocate`` answer."""

    canallocate: bool
    price: C4Price | None = None


class AllocationAnswer(_Wire):
    """A ``canallocate`` answer: the offered configuration and the verdict."""

    config: dict[str, Any] = Field(default_factory=dict)
    info: AllocationInfo

    @field_validator("config", mode="before")
    @classmethod
    def _config(cls, value: Any) -> Any:
        return _maybe_json(value) or {}
