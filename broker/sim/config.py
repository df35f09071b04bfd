"""What a simulated provider offers, and the faults it is told to inject."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Dialect = Literal["docs", "reference"]
"""Which C4 flavour the simulator speaks: the documented one or the template's."""

SERVICE_KINDS = ("s3", "kaas", "loadbalancer", "elasticip", "dbaas", "jupyter")
"""The PaaS and SaaS kinds the services server knows how to create."""

ALL_KINDS = ("vm", "volume", *SERVICE_KINDS)
"""Every kind a provider may offer: compute, storage and the services."""

ARCH = "X86_64"
"""The only CPU architecture the simulated hosts have."""


@dataclass
class SimConfig:
    """The fixed description of one simulated provider: offer, prices, capacity."""

    name: str = "sim"
    dialect: Dialect = "docs"
    regions: list[str] = field(default_factory=lambda: ["eu-west"])
    currency: str = "EUR"
    price_core_hour: float = 0.02
    price_mem_gib_month: float = 3.0
    price_disk_gib_month: float = 0.05
    cores: int = 64
    memory_mib: int = 262144
    disk_gib: int = 10000
    pci_devices: dict[str, int] = field(default_factory=dict)
    kinds: list[str] = field(default_factory=lambda: list(ALL_KINDS))
    async_delay_s: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse a configuration the simulator could not honour."""
        if self.dialect not in ("docs", "reference"):
            raise ValueError(f"Unknown dialect {self.dialect!r}.")
        if not self.regions:
            raise ValueError("A simulated provider needs at least one region.")
        unknown = sorted(set(self.kinds) - set(ALL_KINDS))
        if unknown:
            raise ValueError(f"Unknown kinds: {', '.join(unknown)}.")

    @property
    def default_region(self) -> str:
        """The region used when a request names none."""
        return self.regions[0]


@dataclass
class Faults:
    """Misbehaviour injected into every answer; tests change it at run time."""

    latency_s: float = 0.0
    error_rate: float = 0.0
    hang: bool = False
    malformed: bool = False
    fail_next: dict[str, int] = field(default_factory=dict)
    fail_always: dict[str, int] = field(default_factory=dict)
    create_then_fail: set[str] = field(default_factory=set)
    refuse_all: bool = False
    delay: dict[str, float] = field(default_factory=dict)
    delay_answer: dict[str, float] = field(default_factory=dict)
