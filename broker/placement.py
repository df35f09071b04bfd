"""Placement: which providers can host a request, and at what price, right now.

Three steps. Filter the registry by what the request and the operator allow.
Ask every remaining provider for a quote at once, under one deadline, so one
slow provider never holds the answer. Rank the offers: hourly price first,
then the operator's weight, then how fast the provider answered. Every
provider that is not a candidate is reported with the reason why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from broker.c4.compute import canallocate_body
from broker.c4.outcome import Offer, Price, Quote, Refusal
from broker.c4.transport import Encoded
from broker.config import PlacementConfig, ProviderConfig
from broker.errors import ProviderError, ProviderFault
from broker.metrics import Metrics
from broker.providers import Providers
from broker.specs import (
    CreateBody,
    VmCreate,
    VolumeCreate,
    vm_requirements,
    volume_flags,
    volume_size,
)

log = logging.getLogger(__name__)

Reason = Literal[
    "no-capacity",
    "over-price",
    "timeout",
    "error",
    "unhealthy",
    "filtered",
    "unsupported",
]


@dataclass(frozen=True)
class Candidate:
    """A provider that can host the request."""

    provider: str
    region: str | None
    price: Price | None
    weight: float
    latency_s: float
    score: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The candidate as the API shows it."""
        return {
            "provider": self.provider,
            "region": self.region,
            "price": self.price.as_dict() if self.price else None,
            "score": self.score,
        }


@dataclass(frozen=True)
class Rejection:
    """A provider that is not a candidate, and why."""

    provider: str
    reason: Reason
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """The rejection as the API shows it."""
        return {"provider": self.provider, "reason": self.reason, "detail": self.detail}


@dataclass
class PlacementResult:
    """Candidates best first, every rejected provider, and the time it took."""

    candidates: list[Candidate] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    elapsed_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The result as ``POST /v1/placements`` answers it."""
        return {
            "candidates": [c.as_dict() for c in self.candidates],
            "rejected": [r.as_dict() for r in self.rejected],
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


@dataclass(frozen=True)
class Request:
    """One placement question: a kind, its body, and the tenant asking."""

    kind: str
    body: CreateBody
    client_uuid: str


class Placer:
    """Runs placements against the providers in force."""

    def __init__(
        self,
        providers: Providers,
        config: PlacementConfig,
        metrics: Metrics | None = None,
    ) -> None:
        self.providers = providers
        self.config = config
        self.metrics = metrics or Metrics()

    async def place(
        self, request: Request, skip: frozenset[str] = frozenset()
    ) -> PlacementResult:
        """Filter, ask every eligible provider at once, and rank the offers."""
        started = time.monotonic()
        result = PlacementResult()
        eligible = await self._filter(request, skip, result.rejected)
        currency = request.body.placement.currency or self.config.currency
        cap = request.body.placement.max_hourly_price

        quotes = await self._fan_out(request, eligible, result.rejected)
        # Services have no quote in C4: a price cap cannot apply to them.
        quoted = request.kind in ("vm", "volume")
        for (provider, region), quote in quotes:
            rejection = _judge(provider.name, quote, currency, cap, quoted)
            if rejection is not None:
                result.rejected.append(rejection)
                continue
            assert isinstance(quote, Offer)
            result.candidates.append(
                Candidate(
                    provider.name, region, quote.price, provider.weight, quote.latency_s
                )
            )

        result.candidates = _rank(result.candidates)
        elapsed = time.monotonic() - started
        result.elapsed_ms = elapsed * 1000
        outcome = "placed" if result.candidates else "no-candidate"
        self.metrics.placements.labels(request.kind, outcome).inc()
        self.metrics.placement_duration.labels(request.kind).observe(elapsed)
        log.info(
            "placement kind=%s candidates=%d rejected=%d elapsed_ms=%.0f",
            request.kind,
            len(result.candidates),
            len(result.rejected),
            result.elapsed_ms,
        )
        return result

    def width(self, request: Request) -> int:
        """How many providers the request would ask, before health is considered."""
        wanted = request.body.placement
        return sum(
            _static_filter(p, request.kind, wanted, frozenset())[0] is None
            for p in self.providers
        )

    async def _filter(
        self, request: Request, skip: frozenset[str], rejected: list[Rejection]
    ) -> list[tuple[ProviderConfig, str | None]]:
        wanted = request.body.placement
        eligible = []
        for provider in self.providers:
            reason, detail = _static_filter(provider, request.kind, wanted, skip)
            if reason is not None:
                rejected.append(Rejection(provider.name, reason, detail))
                continue
            if not await self.providers.admit(provider.name):
                detail = (
                    self.providers.health.of(provider.name).last_error or "Ejected."
                )
                rejected.append(Rejection(provider.name, "unhealthy", detail))
                continue
            eligible.append((provider, _region(provider, wanted.regions)))
        return eligible

    async def _fan_out(
        self,
        request: Request,
        eligible: list[tuple[ProviderConfig, str | None]],
        rejected: list[Rejection],
    ) -> list[tuple[tuple[ProviderConfig, str | None], Quote]]:
        if request.kind not in ("vm", "volume"):
            return [(e, Offer(e[0].name, None)) for e in eligible]
        deadline = self.config.fanout_timeout_s
        # The calls time out a little before the deadline, so that a silent
        # provider is counted as a fault against its health.
        call_timeout = deadline * 0.95
        question = _question(request)
        tasks = {
            asyncio.ensure_future(
                self._quote(question, provider, region, call_timeout)
            ): (
                provider,
                region,
            )
            for provider, region in eligible
        }
        if not tasks:
            return []
        done, pending = await asyncio.wait(tasks, timeout=deadline)
        for task in pending:
            task.cancel()
            rejected.append(
                Rejection(
                    tasks[task][0].name, "timeout", f"No quote within {deadline:g} s."
                )
            )
        answers = []
        for task in done:
            provider, region = tasks[task]
            error = task.exception()
            if error is None:
                answers.append(((provider, region), task.result()))
            else:
                rejected.append(_rejection_for(provider.name, error, deadline))
        return answers

    async def _quote(
        self,
        question: Encoded | VolumeCreate,
        provider: ProviderConfig,
        region: str | None,
        timeout_s: float,
    ) -> Quote:
        client = self.providers.client(provider.name)
        if isinstance(question, Encoded):
            return await client.canallocate_encoded(
                question, region=region, timeout_s=timeout_s
            )
        return await client.cancreate(
            size=volume_size(question.size_gib, provider),
            region=region,
            timeout_s=timeout_s,
            **volume_flags(question),
        )


def _question(request: Request) -> Encoded | VolumeCreate:
    """What every provider is asked: a VM's quote body is the same for all."""
    body = request.body
    if isinstance(body, VmCreate):
        return canallocate_body(vm_requirements(body), request.client_uuid)
    assert isinstance(body, VolumeCreate)
    return body


def _static_filter(
    provider: ProviderConfig, kind: str, wanted: Any, skip: frozenset[str]
) -> tuple[Reason | None, str]:
    if kind not in provider.served_kinds:
        return "unsupported", f"Does not serve {kind}."
    if not provider.enabled:
        return "filtered", "Disabled by the operator."
    if provider.name in skip:
        return "filtered", "Already tried for this job."
    if wanted.providers and provider.name not in wanted.providers:
        return "filtered", "Not among the requested providers."
    if provider.name in wanted.exclude:
        return "filtered", "Excluded by the request."
    if wanted.regions and _region(provider, wanted.regions) is None:
        return "filtered", "Serves none of the requested regions."
    return None, ""


def _region(provider: ProviderConfig, wanted: list[str]) -> str | None:
    if not wanted:
        return provider.default_region
    return next((r for r in wanted if r in provider.regions), None)


def _judge(
    provider: str, quote: Quote, currency: str, cap: float | None, quoted: bool
) -> Rejection | None:
    if isinstance(quote, Refusal):
        return Rejection(provider, "no-capacity", quote.detail)
    price = quote.price
    if price is None and quoted and cap is not None:
        return Rejection(
            provider,
            "filtered",
            f"Offers no price, and the cap is {_amount(cap)} {currency}/h.",
        )
    if price is None:
        return None
    if price.currency != currency:
        return Rejection(
            provider, "filtered", f"Quotes in {price.currency}, not {currency}."
        )
    if cap is not None and price.hourly > cap:
        return Rejection(
            provider,
            "over-price",
            f"{_amount(price.hourly)} {price.currency}/h is over the cap of"
            f" {_amount(cap)} {price.currency}/h.",
        )
    return None


def _amount(value: float) -> str:
    """A price as people write it: no exponent, no trailing zeros."""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _rejection_for(provider: str, error: BaseException, deadline: float) -> Rejection:
    if isinstance(error, ProviderFault) and error.timed_out:
        return Rejection(provider, "timeout", f"No quote within {deadline:g} s.")
    if isinstance(error, ProviderError):
        return Rejection(provider, "error", str(error))
    log.error("quote failed unexpectedly provider=%s error=%r", provider, error)
    return Rejection(provider, "error", "The quote failed unexpectedly.")


def _rank(candidates: list[Candidate]) -> list[Candidate]:
    ordered = sorted(
        candidates,
        # An offer without a price is not known to be cheap: it comes after
        # every priced one.
        key=lambda c: (
            c.price is None,
            c.price.hourly if c.price else 0.0,
            -c.weight,
            c.latency_s,
            c.provider,
        ),
    )
    if not ordered:
        return []
    prices = [c.price.hourly for c in ordered if c.price and c.price.hourly > 0]
    best_price = min(prices) if prices else None
    best_weight = max(c.weight for c in ordered)
    return [_scored(c, best_price, best_weight) for c in ordered]


def _scored(
    candidate: Candidate, best_price: float | None, best_weight: float
) -> Candidate:
    """Score in (0, 1]: best price over this price, or weight over the best weight."""
    price = candidate.price
    if price is not None and best_price is not None and price.hourly > 0:
        score = best_price / price.hourly
    elif price is not None and price.hourly == 0:
        score = 1.0
    else:
        score = candidate.weight / best_weight
    return Candidate(
        candidate.provider,
        candidate.region,
        candidate.price,
        candidate.weight,
        candidate.latency_s,
        round(score, 4),
    )
