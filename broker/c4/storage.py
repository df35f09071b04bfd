"""The storage server's operations: quoting, creating and handling volumes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from broker.c4 import classify
from broker.c4.answer import Answer
from broker.c4.classify import Expect
from broker.c4.core import API, ClientCore, Op, done, segment
from broker.c4.models import C4Volume, VolumeCreate, VolumeOptions
from broker.c4.outcome import Created, Offer, Refusal
from broker.c4.transport import Request

_CANCREATE = Op("cancreate", "storage", Expect(refusable=True), quiet=True)
_CREATE_VOLUME = Op("create_volume", "storage", Expect(refusable=True))
_VOLUME_INFO = Op("volume_info", "storage", Expect(resource=True))
_ACCESSIBLE = Op("accessible", "storage")
_DESTROY = Op("destroy", "storage", Expect(resource=True))
_EXPORT = Op("export", "storage", Expect(resource=True))
_UNEXPORT = Op("unexport", "storage", Expect(resource=True))


class StorageOps(ClientCore):
    """The operations of a provider's storage server."""

    async def cancreate(
        self,
        *,
        size: int,
        private: bool,
        readonly: bool,
        shareable: bool,
        bootable: bool,
        region: str | None = None,
        timeout_s: float | None = None,
    ) -> Offer | Refusal:
        """Whether the provider can create this volume, and at what price."""
        body = VolumeOptions(
            size=size,
            private=private,
            readonly=readonly,
            shareable=shareable,
            bootable=bootable,
        ).to_wire()
        headers = self._headers(region)
        variants = [
            Request("GET", f"{API}/cancreate", body, headers=headers, dialect=None),
            Request("POST", f"{API}/cancreate", body, headers=headers, dialect=None),
        ]
        return await self._call(
            _CANCREATE,
            variants,
            lambda answer: classify.quote(answer, _CANCREATE.expect),
            timeout_s=timeout_s,
        )

    async def create_volume(
        self,
        *,
        creator_id: str,
        name: str,
        size: int,
        private: bool,
        readonly: bool,
        shareable: bool,
        bootable: bool,
        region: str | None = None,
        timeout_s: float | None = None,
    ) -> Created:
        """Create a volume; the provider answers with it at once."""
        body = VolumeCreate(
            creator_id=creator_id,
            name=name,
            size=size,
            private=private,
            readonly=readonly,
            shareable=shareable,
            bootable=bootable,
        ).to_wire()
        headers = self._headers(region, asynchronous=False)
        request = Request("POST", f"{API}/create", body, headers=headers)
        return await self._call(
            _CREATE_VOLUME, [request], _created_volume, timeout_s=timeout_s
        )

    async def volume_info(self, volume_id: str) -> C4Volume:
        """One volume, as the provider sees it now."""
        variants = [
            Request("POST", f"{API}/info", {"volume_id": volume_id}),
            Request(
                "GET", f"{API}/info", {"volume_uuid": volume_id}, dialect="reference"
            ),
            Request("GET", f"{API}/info/{segment(volume_id)}", dialect="reference"),
        ]
        return await self._call(_VOLUME_INFO, variants, _volume)

    async def accessible(self, client_uuid: str) -> list[C4Volume]:
        """The volumes the tenant can use on this provider."""
        variants = [
            Request("POST", f"{API}/accessible", {"client_uid": client_uuid}),
            Request(
                "GET",
                f"{API}/accessible",
                params={"client_uuid": client_uuid},
                dialect="reference",
            ),
        ]
        return await self._call(_ACCESSIBLE, variants, _volumes)

    async def destroy(self, volume_id: str) -> None:
        """Delete a volume; raise ProviderNotFound when the provider has none such."""
        variants = [
            Request("POST", f"{API}/destroy", {"volumeID": volume_id}),
            Request(
                "DELETE",
                f"{API}/destroy",
                {"volume_uuid": volume_id},
                dialect="reference",
            ),
        ]
        await self._call(_DESTROY, variants, done(_DESTROY))

    async def export(self, volume_id: str, *, client_uuid: str) -> dict[str, Any]:
        """Make a volume usable by the tenant; the provider's answer, if any."""
        return await self._sharing(_EXPORT, volume_id, client_uuid)

    async def unexport(self, volume_id: str, *, client_uuid: str) -> dict[str, Any]:
        """Withdraw a volume from the tenant; the provider's answer, if any."""
        return await self._sharing(_UNEXPORT, volume_id, client_uuid)

    async def _sharing(
        self, op: Op, volume_id: str, client_uuid: str
    ) -> dict[str, Any]:
        body = {"client_uid": client_uuid, "volume_id": volume_id}
        request = Request("POST", f"{API}/{op.name}", body)
        return await self._call(op, [request], _optional_object(op))


def _created_volume(answer: Answer) -> Created:
    data = classify.decode(answer, _CREATE_VOLUME.expect)
    volume = classify.parse_model(answer, C4Volume, data)
    return Created(volume.vid, classify.expect_object(answer, data))


def _volume(answer: Answer) -> C4Volume:
    data = classify.decode(answer, _VOLUME_INFO.expect)
    return classify.parse_model(answer, C4Volume, data)


def _volumes(answer: Answer) -> list[C4Volume]:
    data = classify.decode(answer, _ACCESSIBLE.expect)
    return classify.parse_list(answer, C4Volume, data, ("volumes", "items"))


def _optional_object(op: Op) -> Callable[[Answer], dict[str, Any]]:
    def judge(answer: Answer) -> dict[str, Any]:
        data = classify.decode(answer, op.expect)
        return data if isinstance(data, dict) else {}

    return judge
