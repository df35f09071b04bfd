"""The machinery every C4 operation shares: variants, judging, observing.

An operation is sent as one or more request variants (see
:mod:`broker.c4.dialect`), its answer is judged by :mod:`broker.c4.classify`,
and its outcome and duration are reported to the :class:`CallObserver`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp

from broker.c4 import classify
from broker.c4.answer import Answer
from broker.c4.classify import Expect
from broker.c4.dialect import Dialect, DialectMemory
from broker.c4.observer import CallObserver
from broker.c4.outcome import Offer, Refusal
from broker.c4.transport import Request, Transport
from broker.config import ProviderConfig, Server
from broker.errors import ProviderError

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

API = "/api/v1.0"
"""The prefix of every C4 path."""


@dataclass(frozen=True)
class Op:
    """One C4 operation: its name, the server that serves it, how to judge it.

    A ``quiet`` operation logs its answered calls at DEBUG: quotes go out
    to every provider at once, and the placement logs one line for them all.
    """

    name: str
    server: Server
    expect: Expect = field(default_factory=Expect)
    quiet: bool = False


class ClientCore:
    """Sends the operations of one provider and reports how each one ended."""

    def __init__(
        self,
        provider: ProviderConfig,
        session: aiohttp.ClientSession,
        *,
        observer: CallObserver | None = None,
    ) -> None:
        self.provider = provider
        self._transport = Transport(provider, session)
        self._dialects = DialectMemory(provider.dialect)
        self._observer = observer
        self._in_flight = asyncio.Semaphore(provider.max_in_flight)

    @property
    def name(self) -> str:
        """The provider's registry name."""
        return self.provider.name

    def learnt_dialect(self, operation: str) -> Dialect | None:
        """The dialect that worked for ``operation`` on this provider, if known."""
        return self._dialects.learnt(operation)

    def learnt_variant(self, operation: str) -> int | None:
        """Which variant of ``operation`` worked (0 is the documented one)."""
        return self._dialects.learnt_variant(operation)

    def learnt_dialects(self) -> dict[str, Dialect]:
        """Every operation with variants used so far and the dialect that worked."""
        return self._dialects.snapshot()

    def _headers(
        self,
        region: str | None = None,
        *,
        asynchronous: bool | None = None,
        client_uuid: str | None = None,
    ) -> dict[str, str]:
        """The C4 request headers for a region, the async mode and a tenant."""
        for value in (region, client_uuid):
            if value is not None and any(c in value for c in "\r\n\0"):
                raise ValueError("A header value must not contain line breaks.")
        headers: dict[str, str] = {}
        chosen = region or self.provider.default_region
        if chosen:
            headers["service-country"] = chosen
            headers["service_country"] = chosen
        if asynchronous is not None:
            headers["Async"] = "true" if asynchronous else "false"
        if client_uuid is not None:
            headers["client_uuid"] = client_uuid
        return headers

    async def _call(
        self,
        op: Op,
        variants: Sequence[Request],
        parse: Callable[[Answer], _T],
        *,
        timeout_s: float | None = None,
    ) -> _T:
        """Send ``op``, judge its answer with ``parse`` and report the outcome."""
        started = time.monotonic()
        try:
            async with self._in_flight:
                answer = await self._exchange(op, variants, timeout_s)
            result = parse(answer)
        except ProviderError as exc:
            self._observe(op.name, exc.outcome, time.monotonic() - started)
            raise
        self._observe(op.name, _outcome(result), time.monotonic() - started)
        return result

    async def _exchange(
        self, op: Op, variants: Sequence[Request], timeout_s: float | None
    ) -> Answer:
        """The first answer that is not "endpoint missing".

        When every variant seems missing, the first bare 404 is returned (for
        a lookup it may just mean "no such resource"), else the last answer.
        """
        missing: list[Answer] = []
        for index, variant in self._dialects.order(op.name, variants):
            answer = await self._transport.send(
                op.server, op.name, variant, timeout_s=timeout_s, quiet=op.quiet
            )
            if not classify.endpoint_missing(answer):
                if len(variants) > 1 and _settled(answer):
                    self._dialects.remember(op.name, index, variant)
                return answer
            self._dialects.forget(op.name)
            logger.debug(
                "c4 endpoint missing provider=%s operation=%s variant=%d",
                self.name,
                op.name,
                index,
            )
            missing.append(answer)
        bare_404 = next((answer for answer in missing if answer.status == 404), None)
        return bare_404 if bare_404 is not None else missing[-1]

    def _observe(self, operation: str, outcome: str, elapsed_s: float) -> None:
        if self._observer is None:
            return
        try:
            self._observer.observe(self.name, operation, outcome, elapsed_s)
        except Exception:
            logger.exception(
                "c4 observer failed provider=%s operation=%s", self.name, operation
            )


def _settled(answer: Answer) -> bool:
    """Whether an answer shows that the endpoint is really served."""
    status = answer.status
    return status < 300 or (
        400 <= status < 500 and status not in classify.RETRYABLE_STATUSES
    )


def _outcome(result: object) -> str:
    if isinstance(result, Offer):
        return "offer"
    if isinstance(result, Refusal):
        return "refusal"
    return "ok"


def segment(identifier: str) -> str:
    """An opaque identifier made safe to use as one path segment."""
    if not identifier or identifier in (".", ".."):
        raise ValueError("A provider identifier must be a non-empty name.")
    return quote(identifier, safe="")


def json_object(answer: Answer) -> dict[str, Any]:
    """Judge an answer that must be a JSON object, and return that object."""
    return classify.expect_object(answer, classify.decode(answer))


def done(op: Op) -> Callable[[Answer], None]:
    """A judge for operations whose success carries nothing the broker needs."""

    def judge(answer: Answer) -> None:
        classify.decode(answer, op.expect)

    return judge
