"""What the simulated provider charges, and how each dialect writes a price."""

from __future__ import annotations

from typing import Any

from broker.sim.config import SimConfig
from broker.sim.specs import VmSpec

HOURS_PER_MONTH = 730
"""The month length C4 prices assume: 365 days times 24 hours over 12."""

MIB_PER_GIB = 1024
"""Memory requests are in MiB, memory prices per GiB."""


def vm_hourly(config: SimConfig, spec: VmSpec) -> float:
    """The hourly price of a VM: its cores plus its memory's monthly rate."""
    memory_gib = spec.ram_mib / MIB_PER_GIB
    memory_hourly = memory_gib * config.price_mem_gib_month / HOURS_PER_MONTH
    return spec.slots * config.price_core_hour + memory_hourly


def volume_hourly(config: SimConfig, size_gib: int) -> float:
    """The hourly price of a volume of ``size_gib`` GiB."""
    return size_gib * config.price_disk_gib_month / HOURS_PER_MONTH


def price_body(config: SimConfig, hourly: float) -> dict[str, Any]:
    """The C4 ``PRICE`` object for an hourly rate, in the configured dialect.

    The documented dialect sends numbers rounded to four decimals. The
    reference implementation casts to integers, which turns cheap offers
    into zero; the simulator instead sends numeric strings in that dialect,
    so that brokers are exercised on the tolerance it calls for.
    """
    monthly = hourly * HOURS_PER_MONTH
    if config.dialect == "reference":
        return {
            "currency": config.currency,
            "hourly": f"{hourly:.4f}",
            "monthly": f"{monthly:.4f}",
        }
    return {
        "currency": config.currency,
        "hourly": round(hourly, 4),
        "monthly": round(monthly, 4),
    }
