"""The conformance probe: what an operator checks before registering a provider.

For each server given, the probe checks that it answers at all, which
endpoints it serves and in which dialect, how it formats prices, and
whether an asynchronous create can be followed. Unless told to stay
read-only, it creates a small VM, a small volume and an s3 bucket under a
tenant of its own, lists them, and removes them again.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import aiohttp

from broker.c4.classify import Answer, EndpointMissing
from broker.c4.client import C4Client
from broker.c4.core import Op
from broker.c4.models import CpuRequirements, MemRequirements, VmRequirements
from broker.c4.outcome import Accepted, Created, Offer, Ready, Refusal
from broker.c4.probe_checks import dialect_summary, price_check
from broker.c4.probe_report import Check, ProbeReport, Result
from broker.c4.transport import Request
from broker.config import ProviderConfig, Server
from broker.errors import ProviderError, ProviderNotFound, ProviderRefusal

logger = logging.getLogger(__name__)

PROBE_VM = VmRequirements(
    cpu=CpuRequirements(slots=1), mem=MemRequirements(capacity=512)
)
"""The test VM: one core and 512 MiB."""

PROBE_VOLUME_SIZE = 1
"""The test volume's size in the C4 "GB" (GiB)."""

PROBE_SERVICE_KIND = "s3"
"""The service kind the probe creates: the simplest one, a bucket."""

UNKNOWN_ID = "c4brokerprobe0000000000000000000"
"""An identifier no provider should know, to check lookups in read-only mode."""

VARIANTS: dict[str, tuple[str, ...]] = {
    "canallocate": ("GET /canallocate", "POST /canallocate"),
    "cancreate": ("GET /cancreate", "POST /cancreate"),
    "volume_info": ("POST /info", "GET /info with a body", "GET /info/{id}"),
    "accessible": ("POST /accessible", "GET /accessible?client_uuid="),
    "destroy": ("POST /destroy", "DELETE /destroy"),
    "service_info": ("GET /{kind}/info", "GET /{kind}/running/{id}"),
}
"""The documented endpoint of each operation with variants, then the variants."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class _Got(Generic[_T]):
    value: _T


class _RecordingClient(C4Client):
    """A C4 client that keeps the last raw answer of each operation."""

    def __init__(self, provider: ProviderConfig, session: aiohttp.ClientSession):
        super().__init__(provider, session)
        self.answers: dict[str, Answer] = {}

    async def _exchange(
        self, op: Op, variants: Sequence[Request], timeout_s: float | None
    ) -> Answer:
        answer = await super()._exchange(op, variants, timeout_s)
        self.answers[op.name] = answer
        return answer


def probe_config(
    *,
    compute: str | None,
    storage: str | None = None,
    services: str | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 10.0,
) -> ProviderConfig:
    """The registry entry the probe uses: the given servers, dialect detected."""
    return ProviderConfig(
        name="probe",
        compute=compute,
        storage=storage,
        services=services,
        headers=headers or {},
        timeout_s=timeout_s,
        dialect="auto",
    )


async def probe_provider(
    provider: ProviderConfig,
    session: aiohttp.ClientSession,
    *,
    read_only: bool = False,
    async_wait_s: float = 30.0,
) -> ProbeReport:
    """Check one provider's C4 conformance and return the full report."""
    client = _RecordingClient(provider, session)
    prober = _Prober(client, read_only=read_only, async_wait_s=async_wait_s)
    for server in ("compute", "storage", "services"):
        if provider.base_url(server) is not None:
            await prober.server(server)
    prober.report.dialect = dialect_summary(provider, client, prober.repaired_urls)
    logger.info(
        "c4 probe done usable=%s checks=%d",
        prober.report.usable,
        len(prober.report.checks),
    )
    return prober.report


class _Prober:
    """Runs the checks of one probe against one client, filling a report."""

    def __init__(
        self, client: _RecordingClient, *, read_only: bool, async_wait_s: float
    ) -> None:
        self.client = client
        self.report = ProbeReport()
        self.read_only = read_only
        self.async_wait_s = async_wait_s
        self.tenant = "c4broker-probe-" + secrets.token_hex(6)
        self.repaired_urls: set[str] = set()

    async def server(self, server: Server) -> None:
        """Run every check of one server."""
        reached = await self.attempt(
            server, "GET /", "ping", lambda: self.client.ping(server)
        )
        if reached is None:
            return
        await self.attempt(
            server,
            "GET /health",
            "health",
            lambda: self.client.health(server),
            required=False,
        )
        steps = {
            "compute": self.compute,
            "storage": self.storage,
            "services": self.services,
        }
        await steps[server]()

    def add(
        self, server: str, endpoint: str, result: Result, detail: str, required: bool
    ) -> None:
        """Record one check."""
        self.report.add(Check(server, endpoint, result, detail, required))

    async def attempt(
        self,
        server: str,
        endpoint: str,
        operation: str,
        call: Callable[[], Awaitable[_T]],
        *,
        required: bool = True,
        unknown_id: bool = False,
    ) -> _Got[_T] | None:
        """Run one call as one check; its result, or None when it failed."""
        try:
            value = await call()
        except EndpointMissing:
            self.add(
                server, endpoint, "missing", "Not served by the provider.", required
            )
            return None
        except ProviderNotFound as exc:
            if unknown_id:
                result, detail = self.served(operation)
                self.add(
                    server,
                    endpoint,
                    result,
                    detail + "; unknown ids are not found",
                    required,
                )
            else:
                self.add(server, endpoint, "wrong", str(exc), required)
            return None
        except ProviderRefusal:
            result, detail = self.served(operation)
            self.add(
                server,
                endpoint,
                result,
                detail + "; refused the test request",
                required,
            )
            return None
        except ProviderError as exc:
            self.add(server, endpoint, "wrong", str(exc), required)
            return None
        result, detail = self.served(operation)
        self.add(server, endpoint, result, detail, required)
        return _Got(value)

    def served(self, operation: str) -> tuple[Result, str]:
        """Whether ``operation`` answered as documented or through a variant."""
        index = self.client.learnt_variant(operation)
        names = VARIANTS.get(operation)
        if index is None or index == 0 or names is None:
            return "ok", "As documented"
        return "variant", f"Serves {names[index]} instead of {names[0]}"

    def skip(self, server: str, endpoints: Sequence[str], why: str) -> None:
        """Record checks that were not tried, and why."""
        for endpoint in endpoints:
            self.add(server, endpoint, "skipped", why, True)

    async def compute(self) -> None:
        """Check the compute server: status, quote, and a VM's whole life."""
        c = self.client
        for endpoint, op, call in (
            ("GET /status", "status", c.status),
            ("GET /statusjson", "statusjson", c.statusjson),
        ):
            await self.attempt("compute", endpoint, op, call, required=False)
        quote = await self.attempt(
            "compute",
            "GET /canallocate",
            "canallocate",
            lambda: c.canallocate(PROBE_VM, client_uuid=self.tenant),
        )
        self.price("compute", "canallocate", quote)
        if self.read_only:
            await self.attempt(
                "compute", "GET /running", "running", lambda: c.running(self.tenant)
            )
            await self.attempt(
                "compute",
                "GET /running/{id}",
                "vm_info",
                lambda: c.vm_info(UNKNOWN_ID),
                unknown_id=True,
            )
            return
        await self.vm_life()

    async def vm_life(self) -> None:
        """Create a VM asynchronously, follow it, list it, show it, remove it."""
        c = self.client
        created = await self.attempt(
            "compute",
            "POST /register",
            "register",
            lambda: c.register(
                PROBE_VM,
                client_uuid=self.tenant,
                vm_name="c4broker-probe",
                volumes=[],
                authentication=None,
                asynchronous=True,
            ),
        )
        later = (
            "follow poolingURL",
            "GET /running",
            "GET /running/{id}",
            "DELETE /unregister",
        )
        if created is None:
            self.skip("compute", later, "Needs the test VM, which was not created.")
            return
        vm_id = await self.follow("compute", "register", created.value)
        if not vm_id:
            self.skip("compute", later[1:], "The provider named no id for the test VM.")
            return
        try:
            await self.listed(
                "compute",
                "GET /running",
                "running",
                lambda: c.running(self.tenant),
                lambda vms: any(v.unique_id == vm_id for v in vms),
            )
            await self.attempt(
                "compute", "GET /running/{id}", "vm_info", lambda: c.vm_info(vm_id)
            )
        finally:
            await self.attempt(
                "compute",
                "DELETE /unregister",
                "unregister",
                lambda: c.unregister(vm_id, client_uuid=self.tenant),
            )

    async def storage(self) -> None:
        """Check the storage server: quote, and a volume's whole life."""
        c = self.client
        quote = await self.attempt(
            "storage",
            "GET /cancreate",
            "cancreate",
            lambda: c.cancreate(
                size=PROBE_VOLUME_SIZE,
                private=True,
                readonly=False,
                shareable=False,
                bootable=False,
            ),
        )
        self.price("storage", "cancreate", quote)
        if self.read_only:
            await self.attempt(
                "storage",
                "POST /accessible",
                "accessible",
                lambda: c.accessible(self.tenant),
            )
            await self.attempt(
                "storage",
                "POST /info",
                "volume_info",
                lambda: c.volume_info(UNKNOWN_ID),
                unknown_id=True,
            )
            return
        await self.volume_life()

    async def volume_life(self) -> None:
        """Create a volume, show it, list it, destroy it."""
        c = self.client
        created = await self.attempt(
            "storage",
            "POST /create",
            "create_volume",
            lambda: c.create_volume(
                creator_id=self.tenant,
                name="c4broker-probe",
                size=PROBE_VOLUME_SIZE,
                private=True,
                readonly=False,
                shareable=False,
                bootable=False,
            ),
        )
        if created is None:
            later = ("POST /info", "POST /accessible", "POST /destroy")
            self.skip("storage", later, "Needs the test volume, which was not created.")
            return
        volume_id = created.value.provider_id
        try:
            await self.attempt(
                "storage", "POST /info", "volume_info", lambda: c.volume_info(volume_id)
            )
            await self.listed(
                "storage",
                "POST /accessible",
                "accessible",
                lambda: c.accessible(self.tenant),
                lambda vols: any(v.vid == volume_id for v in vols),
            )
        finally:
            await self.attempt(
                "storage", "POST /destroy", "destroy", lambda: c.destroy(volume_id)
            )

    async def services(self) -> None:
        """Check the services server with an s3 bucket's whole life."""
        c = self.client
        kind = PROBE_SERVICE_KIND
        if self.read_only:
            await self.attempt(
                "services",
                f"GET /{kind}/running",
                "services_running",
                lambda: c.services_running(kind, self.tenant),
            )
            await self.attempt(
                "services",
                f"GET /{kind}/info",
                "service_info",
                lambda: c.service_info(kind, UNKNOWN_ID),
                unknown_id=True,
            )
            return
        await self.service_life(kind)

    async def service_life(self, kind: str) -> None:
        """Create a service, follow it, show it, list it, delete it."""
        c = self.client
        created = await self.attempt(
            "services",
            f"POST /{kind}/create",
            "create_service",
            lambda: c.create_service(
                kind,
                client_uuid=self.tenant,
                req={"name": "c4broker-probe"},
                asynchronous=True,
            ),
        )
        later = (f"GET /{kind}/info", f"GET /{kind}/running", f"DELETE /{kind}/delete")
        if created is None:
            self.skip(
                "services", later, "Needs the test service, which was not created."
            )
            return
        service_id = await self.follow("services", "create_service", created.value)
        if not service_id:
            self.skip(
                "services", later, "The provider named no id for the test service."
            )
            return
        try:
            await self.attempt(
                "services",
                f"GET /{kind}/info",
                "service_info",
                lambda: c.service_info(kind, service_id),
            )
            await self.listed(
                "services",
                f"GET /{kind}/running",
                "services_running",
                lambda: c.services_running(kind, self.tenant),
                lambda found: any(s.metadata.id == service_id for s in found),
            )
        finally:
            await self.attempt(
                "services",
                f"DELETE /{kind}/delete",
                "delete_service",
                lambda: c.delete_service(kind, service_id, client_uuid=self.tenant),
            )

    async def listed(
        self,
        server: str,
        endpoint: str,
        operation: str,
        call: Callable[[], Awaitable[list[Any]]],
        contains: Callable[[list[Any]], bool],
    ) -> None:
        """Check a listing, and that it shows the resource just created."""
        before = len(self.report.checks)
        got = await self.attempt(server, endpoint, operation, call)
        if got is not None and not contains(got.value):
            self.report.checks[before] = Check(
                server, endpoint, "wrong", "The listing does not show the new resource."
            )

    async def follow(
        self, server: Server, operation: str, created: Created | Accepted
    ) -> str:
        """The created resource's id, after following its poolingURL if any."""
        if isinstance(created, Created):
            self.add(
                server,
                "follow poolingURL",
                "ok",
                "Created at once; nothing to follow.",
                True,
            )
            return created.provider_id
        raw = self.client.answers[operation].data
        if isinstance(raw, dict) and str(raw.get("poolingURL", "")).startswith(
            "https://api/"
        ):
            self.repaired_urls.add(server)
        ready = await self.poll_until_ready(server, created.poll_path)
        if isinstance(ready, Ready):
            return created.provider_id or ready.provider_id
        return created.provider_id or ""

    async def poll_until_ready(self, server: Server, path: str) -> Ready | None:
        """Poll ``path`` until ready or until the wait is over; record the check."""
        started = time.monotonic()
        deadline = started + self.async_wait_s
        while True:
            try:
                state = await self.client.poll(server, path)
            except ProviderError as exc:
                self.add(server, "follow poolingURL", "wrong", str(exc), True)
                return None
            if isinstance(state, Ready):
                waited = time.monotonic() - started
                self.add(
                    server,
                    "follow poolingURL",
                    "ok",
                    f"Ready after {waited:.1f} s.",
                    True,
                )
                return state
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                detail = f"Still not ready after {self.async_wait_s:g} s."
                self.add(server, "follow poolingURL", "wrong", detail, True)
                return None
            await asyncio.sleep(min(max(state.retry_after or 1.0, 0.1), 2.0, remaining))

    def price(
        self, server: str, operation: str, quote: _Got[Offer | Refusal] | None
    ) -> None:
        """Record how the provider formats the price in its quote."""
        if quote is None or isinstance(quote.value, Refusal):
            self.add(
                server, "price", "skipped", "No offer to read a price from.", False
            )
            return
        answer = self.client.answers.get(operation)
        self.report.add(price_check(server, answer))
