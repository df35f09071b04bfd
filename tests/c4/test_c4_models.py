"""The wire models: tolerant of what providers send, strict in what we send."""

from __future__ import annotations

import json

from broker.c4.models import (
    C4Price,
    C4Service,
    C4Vm,
    C4Volume,
    ServiceCreate,
    VmRegister,
    VmRequest,
    VmRequirements,
    VolumeCreate,
    VolumeOptions,
)

OLD_STYLE_REQ = {
    "py/object": "common.lib.system.systemrequirements.systemrequirements",
    "cpu": {
        "py/object": "common.lib.components.cpu.cpurequirements.cpurequirements",
        "slots": "2",
        "fullPhysical": "True",
        "maxOverprovision": 1,
        "min_frequency": "0.5",
        "arch": "X86_64",
        "flags": None,
    },
    "mem": {"capacity": 4096.0, "reqECC": 0},
    "pci": {"devices": {"10de:1db6": "1"}},
    "misc": {"os_family": "linux", "os_flavour": "debian", "manufacturer": "Any"},
}


def test_requirements_accept_old_style_examples() -> None:
    """py/object keys, numeric strings, reqECC and a bare arch string are read."""
    req = VmRequirements.model_validate(OLD_STYLE_REQ)
    assert req.cpu.slots == 2
    assert req.cpu.full_physical is True
    assert req.cpu.min_frequency == 0.5
    assert req.cpu.arch == ["X86_64"]
    assert req.cpu.flags == []
    assert req.mem.require_ecc is False
    assert req.pci.devices == {"10de:1db6": 1}


def test_requirements_accept_a_json_string() -> None:
    """``req`` may arrive as a JSON string and reads the same."""
    request = VmRequest.model_validate(
        {"client_uid": "t1", "req": json.dumps(OLD_STYLE_REQ)}
    )
    assert request.client_uuid == "t1"
    assert request.req.mem.capacity == 4096


def test_requirements_serialise_to_the_documented_shape() -> None:
    """What we send uses exactly the documented keys and plain JSON types."""
    wire = VmRequirements.model_validate(OLD_STYLE_REQ).to_wire()
    assert wire == {
        "cpu": {
            "slots": 2,
            "fullPhysical": True,
            "maxOverprovision": 1,
            "min_frequency": 0.5,
            "arch": ["X86_64"],
            "flags": [],
        },
        "mem": {"capacity": 4096, "requireECC": False},
        "pci": {"devices": {"10de:1db6": 1}},
        "misc": {"os_family": "linux", "os_flavour": "debian"},
    }


def test_vm_request_sends_client_uuid() -> None:
    """The canallocate body names the tenant ``client_uuid``, never ``client_uid``."""
    request = VmRequest.model_validate({"client_uid": "t1", "req": OLD_STYLE_REQ})
    assert set(request.to_wire()) == {"client_uuid", "req"}


def test_price_accepts_strings_and_decimals() -> None:
    """Amounts as numeric strings or decimals become floats."""
    price = C4Price.model_validate({"currency": "EUR", "hourly": "0.05", "monthly": 36})
    assert (price.hourly, price.monthly) == (0.05, 36.0)


def test_volume_accepts_aliases_and_string_booleans() -> None:
    """A volume id under any known name and "True"/"False" flags are read."""
    for key in ("vid", "volume_id", "volume_uuid", "volumeID"):
        volume = C4Volume.model_validate(
            {
                key: "v1",
                "creatorID": "t1",
                "size": "100",
                "bootable": "True",
                "private": "False",
                "py/object": "x",
            }
        )
        assert (volume.vid, volume.size, volume.bootable, volume.private) == (
            "v1",
            100,
            True,
            False,
        )


def test_vm_reads_running_shape() -> None:
    """A running VM is read with its name, network and price."""
    vm = C4Vm.model_validate(
        {
            "uniqueID": "abc",
            "req_json": json.dumps(
                {
                    "vm_name": "web-1",
                    "arch": "X86_64",
                    "reqECC": "False",
                    "network_config": {"ipv4": "10.0.0.2"},
                }
            ),
            "mesos": {
                "provider": "p",
                "price": {"currency": "EUR", "hourly": "1", "monthly": "30"},
            },
            "xml": "<domain/>",
        }
    )
    assert vm.unique_id == "abc"
    assert vm.name == "web-1"
    assert vm.req_json.network_config is not None
    assert vm.req_json.network_config.ipv4 == "10.0.0.2"
    assert vm.mesos is not None
    assert vm.mesos.price is not None
    assert vm.mesos.price.monthly == 30.0


def test_service_reads_nested_and_flat_shapes() -> None:
    """A service is read with its metadata, or flat when a provider omits it."""
    nested = C4Service.model_validate(
        {
            "metadata": {"id": "s1", "state": "running", "updatedAt": "now"},
            "capabilities": {"api": "s3v4"},
            "resources": {"cpu": 1},
        }
    )
    flat = C4Service.model_validate({"id": "s1", "name": "bucket"})
    assert nested.metadata.updated_at == "now"
    assert flat.metadata.id == "s1"
    assert flat.metadata.name == "bucket"


def test_outgoing_bodies_have_exact_keys() -> None:
    """Volume, register and service bodies carry exactly the documented keys."""
    create = VolumeCreate(
        creator_id="t1",
        name="data",
        size=100,
        private=True,
        readonly=False,
        shareable=False,
        bootable=False,
    ).to_wire()
    assert set(create) == {
        "creatorID",
        "name",
        "size",
        "private",
        "readonly",
        "shareable",
        "bootable",
    }
    assert set(VolumeOptions(size=1).to_wire()) == {
        "size",
        "private",
        "readonly",
        "shareable",
        "bootable",
    }
    register = VmRegister(client_uuid="t1", vm_name="v", req={}).to_wire()
    assert set(register) == {"client_uuid", "vm_name", "req", "volumes"}
    assert set(ServiceCreate(client_uuid="t1", req={}).to_wire()) == {
        "client_uuid",
        "req",
    }
