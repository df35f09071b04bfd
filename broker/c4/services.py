"""The services server's operations: PaaS and SaaS services of every kind."""

from __future__ import annotations

from typing import Any

from broker.c4 import classify
from broker.c4.answer import Answer
from broker.c4.classify import Expect
from broker.c4.core import API, ClientCore, Op, done, segment
from broker.c4.models import C4Service, ServiceCreate
from broker.c4.outcome import Accepted, Created
from broker.c4.transport import Request
from broker.config import SERVICE_KINDS

_CREATE_SERVICE = Op("create_service", "services", Expect(refusable=True))
_SERVICE_INFO = Op("service_info", "services", Expect(resource=True))
_SERVICES_RUNNING = Op("services_running", "services")
_DELETE_SERVICE = Op("delete_service", "services", Expect(resource=True))


class ServiceOps(ClientCore):
    """The operations of a provider's services server."""

    async def create_service(
        self,
        kind: str,
        *,
        client_uuid: str,
        req: dict[str, Any],
        region: str | None = None,
        asynchronous: bool = True,
        timeout_s: float | None = None,
    ) -> Created | Accepted:
        """Create a service; done at once, or accepted with a URL to poll."""
        body = ServiceCreate(client_uuid=client_uuid, req=req).to_wire()
        headers = self._headers(region, asynchronous=asynchronous)
        request = Request("POST", f"{_kind(kind)}/create", body, headers=headers)
        return await self._call(
            _CREATE_SERVICE,
            [request],
            lambda answer: classify.creation(answer, _CREATE_SERVICE.expect, C4Service),
            timeout_s=timeout_s,
        )

    async def service_info(self, kind: str, service_id: str) -> C4Service:
        """One service, as the provider sees it now (possibly still partial)."""
        variants = [
            Request(
                "GET",
                f"{_kind(kind)}/info",
                {"id": service_id},
                params={"id": service_id},
            ),
            Request(
                "GET",
                f"{_kind(kind)}/running/{segment(service_id)}",
                dialect="reference",
            ),
        ]
        return await self._call(_SERVICE_INFO, variants, _service)

    async def services_running(self, kind: str, client_uuid: str) -> list[C4Service]:
        """The tenant's services of one kind on this provider."""
        headers = self._headers(client_uuid=client_uuid)
        request = Request("GET", f"{_kind(kind)}/running", headers=headers)
        return await self._call(_SERVICES_RUNNING, [request], _services)

    async def delete_service(
        self, kind: str, service_id: str, *, client_uuid: str
    ) -> None:
        """Delete a service; raise ProviderNotFound when the provider has none such."""
        body = {"client_uuid": client_uuid, "id": service_id}
        headers = self._headers(client_uuid=client_uuid)
        request = Request("DELETE", f"{_kind(kind)}/delete", body, headers=headers)
        await self._call(_DELETE_SERVICE, [request], done(_DELETE_SERVICE))


def _kind(kind: str) -> str:
    """The path prefix of a service kind; only the protocol's kinds are allowed."""
    if kind not in SERVICE_KINDS:
        raise ValueError(f"Unknown service kind {kind!r}.")
    return f"{API}/{kind}"


def _service(answer: Answer) -> C4Service:
    data = classify.decode(answer, _SERVICE_INFO.expect)
    return classify.parse_model(answer, C4Service, data)


def _services(answer: Answer) -> list[C4Service]:
    data = classify.decode(answer, _SERVICES_RUNNING.expect)
    return classify.parse_list(answer, C4Service, data, ("services", "items"))
