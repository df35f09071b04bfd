"""The compute server's operations: quoting, creating and handling VMs."""

from __future__ import annotations

from typing import Any

from broker.c4 import classify
from broker.c4.answer import Answer
from broker.c4.classify import Expect
from broker.c4.core import API, ClientCore, Op, done, json_object, segment
from broker.c4.models import C4Vm, VmRegister, VmRequest, VmRequirements
from broker.c4.outcome import Accepted, Created, Offer, Refusal
from broker.c4.transport import Encoded, Request
from broker.config import Server

_HEALTH = Op("health", "compute")
_STATUS = Op("status", "compute", Expect(text=True))
_STATUSJSON = Op("statusjson", "compute")
_CANALLOCATE = Op("canallocate", "compute", Expect(refusable=True), quiet=True)
_REGISTER = Op("register", "compute", Expect(refusable=True))
_RUNNING = Op("running", "compute")
_VM_INFO = Op("vm_info", "compute", Expect(resource=True))
_UNREGISTER = Op("unregister", "compute", Expect(resource=True))


class ComputeOps(ClientCore):
    """The operations of a provider's compute ("matcher") server."""

    async def health(self, server: Server = "compute") -> dict[str, Any]:
        """A server's health document (``{"status": "UP", ...}``)."""
        op = _HEALTH if server == "compute" else Op("health", server)
        request = Request("GET", f"{API}/health")
        return await self._call(op, [request], json_object)

    async def status(self) -> str | dict[str, Any]:
        """The provider's details: plain text, or JSON from some providers."""
        request = Request("GET", f"{API}/status")
        return await self._call(_STATUS, [request], _text_or_object)

    async def statusjson(self) -> dict[str, Any]:
        """The provider's host capacity as JSON."""
        request = Request("GET", f"{API}/statusjson")
        return await self._call(_STATUSJSON, [request], json_object)

    async def canallocate(
        self,
        req: VmRequirements,
        *,
        client_uuid: str,
        region: str | None = None,
        timeout_s: float | None = None,
    ) -> Offer | Refusal:
        """Whether the provider can host this VM, and at what price."""
        return await self.canallocate_encoded(
            canallocate_body(req, client_uuid), region=region, timeout_s=timeout_s
        )

    async def canallocate_encoded(
        self,
        body: Encoded,
        *,
        region: str | None = None,
        timeout_s: float | None = None,
    ) -> Offer | Refusal:
        """:meth:`canallocate` with a body from :func:`canallocate_body`.

        A placement encodes its question once and sends it to every provider.
        """
        headers = self._headers(region)
        variants = [
            Request("GET", f"{API}/canallocate", body, headers=headers, dialect=None),
            Request("POST", f"{API}/canallocate", body, headers=headers, dialect=None),
        ]
        return await self._call(
            _CANALLOCATE,
            variants,
            lambda answer: classify.quote(answer, _CANALLOCATE.expect),
            timeout_s=timeout_s,
        )

    async def register(
        self,
        req: VmRequirements,
        *,
        client_uuid: str,
        vm_name: str,
        volumes: list[dict[str, Any]],
        authentication: dict[str, Any] | None,
        region: str | None = None,
        asynchronous: bool = True,
        timeout_s: float | None = None,
    ) -> Created | Accepted:
        """Create a VM; done at once, or accepted with a URL to poll."""
        body = VmRegister(
            client_uuid=client_uuid,
            vm_name=vm_name,
            req=req.to_wire(),
            volumes=volumes,
            authentication=authentication,
        ).to_wire()
        headers = self._headers(region, asynchronous=asynchronous)
        request = Request("POST", f"{API}/register", body, headers=headers)
        return await self._call(
            _REGISTER,
            [request],
            lambda answer: classify.creation(answer, _REGISTER.expect, C4Vm),
            timeout_s=timeout_s,
        )

    async def running(self, client_uuid: str) -> list[C4Vm]:
        """The tenant's VMs on this provider (none when it answers 204)."""
        request = Request("GET", f"{API}/running", params={"client_uuid": client_uuid})
        return await self._call(_RUNNING, [request], _vms)

    async def vm_info(self, vm_id: str) -> C4Vm:
        """One VM, as the provider sees it now."""
        request = Request("GET", f"{API}/running/{segment(vm_id)}")
        return await self._call(_VM_INFO, [request], _vm)

    async def unregister(self, vm_id: str, *, client_uuid: str) -> None:
        """Delete a VM; raise ProviderNotFound when the provider has none such."""
        body = {"vm_uuid": vm_id, "client_uuid": client_uuid}
        request = Request("DELETE", f"{API}/unregister", body)
        await self._call(_UNREGISTER, [request], done(_UNREGISTER))

    async def start(self, vm_id: str, *, client_uuid: str) -> None:
        """Start a stopped VM."""
        await self._power("start", vm_id, client_uuid)

    async def stop(self, vm_id: str, *, client_uuid: str) -> None:
        """Stop a running VM."""
        await self._power("stop", vm_id, client_uuid)

    async def restart(self, vm_id: str, *, client_uuid: str) -> None:
        """Restart a running VM."""
        await self._power("restart", vm_id, client_uuid)

    async def _power(self, action: str, vm_id: str, client_uuid: str) -> None:
        op = Op(action, "compute", Expect(resource=True))
        body = {"vm_uuid": vm_id, "client_uuid": client_uuid}
        request = Request("POST", f"{API}/{action}", body)
        await self._call(op, [request], done(op))


def _text_or_object(answer: Answer) -> str | dict[str, Any]:
    data = classify.decode(answer, _STATUS.expect)
    if data is None:
        return ""
    if isinstance(data, str | dict):
        return data
    raise classify.missing_keys(answer)


def _vms(answer: Answer) -> list[C4Vm]:
    data = classify.decode(answer, _RUNNING.expect)
    return classify.parse_list(answer, C4Vm, data, ("vms", "items"))


def _vm(answer: Answer) -> C4Vm:
    data = classify.decode(answer, _VM_INFO.expect)
    return classify.parse_model(answer, C4Vm, data)


def canallocate_body(req: VmRequirements, client_uuid: str) -> Encoded:
    """The ``canallocate`` body for a tenant's VM, encoded once."""
    return Encoded.of(VmRequest(client_uuid=client_uuid, req=req).to_wire())
