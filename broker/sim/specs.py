"""Normalised resource requests, as the simulator's state consumes them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VmSpec:
    """What a VM request asks for, normalised."""

    slots: int
    ram_mib: int
    arch: tuple[str, ...] = ("X86_64",)
    flags: tuple[str, ...] = ()
    min_frequency: float = 0.0
    full_physical: bool = False
    overprovision: int = 1
    ecc: bool = False
    pci: tuple[tuple[str, int], ...] = ()
    os_family: str = "linux"
    os_flavour: str = "debian"


@dataclass(frozen=True)
class VolumeSpec:
    """What a volume request asks for, normalised; ``size_gib`` is the C4 "GB"."""

    size_gib: int
    private: bool = False
    readonly: bool = False
    shareable: bool = False
    bootable: bool = False
