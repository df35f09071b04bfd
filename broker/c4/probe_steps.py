"""The building blocks of the conformance probe: one check, one poll loop.

A :class:`Prober` runs one call as one check of the report, turning the
call's outcome (success, variant, missing endpoint, refusal, failure) into
a line of it. :mod:`broker.c4.probe` strings these into the full probe.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import aiohttp

from broker.c4.answer import Answer
from broker.c4.classify import EndpointMissing
from broker.c4.client import C4Client
from broker.c4.core import Op
from broker.c4.outcome import Accepted, Created, Offer, Ready, Refusal
from broker.c4.probe_checks import price_check
from broker.c4.probe_report import Check, ProbeReport, Result
from broker.c4.transport import Request
from broker.config import ProviderConfig, Server
from broker.errors import (
    ProviderError,
    ProviderFault,
    ProviderNotFound,
    ProviderRefusal,
)

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
class Got(Generic[_T]):
    """The value of a call that succeeded."""

    value: _T


class RecordingClient(C4Client):
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


class Prober:
    """Runs calls as checks against one client and fills a report."""

    def __init__(
        self,
        client: RecordingClient,
        *,
        read_only: bool,
        async_wait_s: float,
        max_poll_interval_s: float,
    ) -> None:
        self.client = client
        self.report = ProbeReport()
        self.read_only = read_only
        self.async_wait_s = async_wait_s
        self.max_poll_interval_s = max_poll_interval_s
        self.tenant = "c4broker-probe-" + secrets.token_hex(6)
        self.repaired_urls: set[str] = set()
        self.unreached: set[str] = set()

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
    ) -> Got[_T] | None:
        """Run one call as one check; its result, or None when it failed."""
        try:
            value = await call()
        except ProviderError as exc:
            result, detail = self.failed(exc, operation, unknown_id=unknown_id)
            self.add(server, endpoint, result, detail, required)
            return None
        result, detail = self.served(operation)
        self.add(server, endpoint, result, detail + ".", required)
        return Got(value)

    async def reach(self, server: Server) -> bool:
        """Check that a server answers HTTP at all; only a fault makes it fail."""
        try:
            await self.client.ping(server)
        except ProviderFault as exc:
            self.add(server, "GET /", "wrong", str(exc), True)
            self.unreached.add(server)
            return False
        except ProviderError as exc:
            result, detail = self.failed(exc, "ping", unknown_id=False)
            self.add(server, "GET /", result, detail, False)
            return True
        self.add(server, "GET /", "ok", "Reachable.", True)
        return True

    def failed(
        self, exc: ProviderError, operation: str, *, unknown_id: bool
    ) -> tuple[Result, str]:
        """The result of a check whose call raised ``exc``."""
        if isinstance(exc, EndpointMissing):
            return "missing", "Not served by the provider."
        if isinstance(exc, ProviderNotFound) and unknown_id:
            result, detail = self.served(operation)
            return result, f"{detail}; unknown ids are not found."
        if isinstance(exc, ProviderRefusal):
            result, detail = self.served(operation)
            return result, f"{detail}; refused the test request."
        return "wrong", str(exc)

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
        if _template_url(self.client.answers[operation].data):
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
            wanted = state.retry_after if state.retry_after is not None else 1.0
            await asyncio.sleep(min(wanted, self.max_poll_interval_s, remaining))

    def price(
        self, server: str, operation: str, quote: Got[Offer | Refusal] | None
    ) -> None:
        """Record how the provider formats the price in its quote."""
        if quote is None or isinstance(quote.value, Refusal):
            self.add(
                server, "price", "skipped", "No offer to read a price from.", False
            )
            return
        answer = self.client.answers.get(operation)
        self.report.add(price_check(server, answer))


def _template_url(body: Any) -> bool:
    """Whether a create answer's poolingURL has the reference template's shape."""
    url = body.get("poolingURL") if isinstance(body, dict) else None
    return isinstance(url, str) and url.startswith("https://api/v1.0/")
