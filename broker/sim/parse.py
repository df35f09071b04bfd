"""Tolerant reading of C4 request bodies, as real providers accept them.

Clients send numbers as strings (``"0.5"``), the VM request as a JSON
*string*, booleans as ``0``/``"True"``, and ``py/object`` pickling keys
anywhere. Everything here accepts those and raises a 400 :class:`SimError`
naming the field when a value really cannot be understood.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from broker.sim.errors import bad_request
from broker.sim.specs import VmSpec, VolumeSpec

PICKLE_KEY = "py/object"
"""The pickling artefact older C4 clients leave in request bodies."""

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def strip_pickle_noise(value: Any) -> Any:
    """The value with every ``py/object`` key removed, at any depth."""
    if isinstance(value, dict):
        return {
            key: strip_pickle_noise(item)
            for key, item in value.items()
            if key != PICKLE_KEY
        }
    if isinstance(value, list):
        return [strip_pickle_noise(item) for item in value]
    return value


def as_object(value: Any, field: str) -> dict[str, Any]:
    """A JSON object given as such or as a string holding one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise bad_request(field, "body", "not JSON", "object") from None
    if not isinstance(value, dict):
        raise bad_request(field, "body", "not an object", "object")
    cleaned: dict[str, Any] = strip_pickle_noise(value)
    return cleaned


def as_number(value: Any, field: str) -> float:
    """A number given as a number or as a numeric string."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise bad_request(field, "body", "not a number", "number")


def as_int(value: Any, field: str) -> int:
    """A whole number, tolerating ``"2"`` and ``2.0`` but not ``2.5``."""
    number = as_number(value, field)
    if not number.is_integer():
        raise bad_request(field, "body", "not a whole number", "integer")
    return int(number)


def as_bool(value: Any, field: str) -> bool:
    """A boolean given as such, as ``0``/``1``, or as ``"True"``/``"false"``."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise bad_request(field, "body", "not a boolean", "boolean")


def as_str_list(value: Any, field: str) -> list[str]:
    """A list of strings, tolerating a single string."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise bad_request(field, "body", "not a list of strings", "array of string")


def tenant_of(source: Mapping[str, Any]) -> str | None:
    """The tenant named by ``client_uuid`` or its older spelling ``client_uid``."""
    for key in ("client_uuid", "client_uid"):
        value = source.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = str(value).strip()
            if text:
                return text
    return None


def first_id(body: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first non-empty identifier found under any of ``keys``."""
    for key in keys:
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def require(body: dict[str, Any], key: str, field: str | None = None) -> Any:
    """The value under ``key``, or a 400 saying it is missing."""
    if body.get(key) is None:
        raise bad_request(field or key, "body", "missing", "present")
    return body[key]


def _section(req: dict[str, Any], key: str) -> dict[str, Any]:
    value = req.get(key)
    if value is None:
        return {}
    return as_object(value, f"req.{key}")


def _pci_devices(pci: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    devices = as_object(pci.get("devices") or {}, "req.pci.devices")
    wanted = {
        name: as_int(count, f"req.pci.devices.{name}")
        for name, count in devices.items()
    }
    return tuple(sorted((name, n) for name, n in wanted.items() if n > 0))


def parse_vm_spec(raw_req: Any) -> VmSpec:
    """The VM request under ``req``, given as an object or a JSON string."""
    req = as_object(raw_req, "req")
    cpu = _section(req, "cpu")
    mem = _section(req, "mem")
    misc = _section(req, "misc")
    ecc = mem.get("requireECC", mem.get("reqECC"))
    spec = VmSpec(
        slots=as_int(require(cpu, "slots", "req.cpu.slots"), "req.cpu.slots"),
        ram_mib=as_int(
            require(mem, "capacity", "req.mem.capacity"), "req.mem.capacity"
        ),
        arch=tuple(as_str_list(cpu.get("arch", ["X86_64"]), "req.cpu.arch")),
        flags=tuple(as_str_list(cpu.get("flags"), "req.cpu.flags")),
        min_frequency=as_number(cpu.get("min_frequency", 0), "req.cpu.min_frequency"),
        full_physical=as_bool(cpu.get("fullPhysical"), "req.cpu.fullPhysical"),
        overprovision=as_int(
            cpu.get("maxOverprovision", 1), "req.cpu.maxOverprovision"
        ),
        ecc=as_bool(ecc, "req.mem.requireECC"),
        pci=_pci_devices(_section(req, "pci")),
        os_family=str(misc.get("os_family") or "linux"),
        os_flavour=str(misc.get("os_flavour") or "debian"),
    )
    if spec.slots <= 0:
        raise bad_request("req.cpu.slots", "body", "not positive", "integer > 0")
    if spec.ram_mib <= 0:
        raise bad_request("req.mem.capacity", "body", "not positive", "integer > 0")
    return spec


def parse_volume_spec(body: dict[str, Any]) -> VolumeSpec:
    """The volume options of a ``cancreate`` or ``create`` body."""
    size = as_int(require(body, "size"), "size")
    if size <= 0:
        raise bad_request("size", "body", "not positive", "integer > 0")
    return VolumeSpec(
        size_gib=size,
        private=as_bool(body.get("private"), "private"),
        readonly=as_bool(body.get("readonly"), "readonly"),
        shareable=as_bool(body.get("shareable"), "shareable"),
        bootable=as_bool(body.get("bootable"), "bootable"),
    )
