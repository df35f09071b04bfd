"""Provider health: consecutive failures, ejection, and careful readmission.

A provider that fails (faults and protocol errors; refusals are ordinary
answers) five times in a row is ejected for 30 s times the number of times
it has been ejected, at most 300 s. While ejected, placement and the
inventory skip it without calling it. When the ejection ends, a single probe
decides whether it comes back; a failed probe ejects it again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

State = Literal["healthy", "degraded", "ejected", "disabled"]
FAILURES = frozenset({"fault", "protocol-error"})
SUCCESSES = frozenset({"ok", "offer", "refusal", "not-found"})


@dataclass
class ProviderHealth:
    """What the broker currently believes about one provider."""

    consecutive_failures: int = 0
    ejections: int = 0
    ejected_until: float = 0.0
    last_error: str | None = None
    last_seen: float | None = None
    probing: bool = False


@dataclass(frozen=True)
class HealthPolicy:
    """When to eject a provider, for how long, and how many retries it may take."""

    max_failures: int = 5
    base_ejection_s: float = 30.0
    max_ejection_s: float = 300.0
    retry_budget: float = 0.2

    def ejection_s(self, ejections: int) -> float:
        """How long the n-th ejection lasts."""
        return min(self.base_ejection_s * ejections, self.max_ejection_s)


class RetryBudget:
    """Retries one provider may take: about ``ratio`` of its calls.

    Every call earns ``ratio`` of a retry; a retry spends a whole one. A
    small steady allowance (one retry per ``floor_s``) keeps a quiet
    provider from being starved of retries altogether.
    """

    def __init__(
        self,
        ratio: float,
        clock: Callable[[], float],
        burst: float = 3.0,
        floor_s: float = 10.0,
    ) -> None:
        self.ratio = ratio
        self._clock = clock
        self._burst = burst
        self._floor_s = floor_s
        self._tokens = burst
        self._last = clock()

    def earn(self) -> None:
        """Count one call that was not a retry."""
        self._tokens = min(self._tokens + self.ratio, self._cap())

    def spend(self) -> bool:
        """Take one retry if the budget has it."""
        now = self._clock()
        self._tokens = min(
            self._tokens + (now - self._last) / self._floor_s, self._cap()
        )
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def _cap(self) -> float:
        return max(self._burst, 100 * self.ratio)


class HealthBook:
    """Per-provider health, fed by every call's outcome."""

    def __init__(
        self,
        policy: HealthPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy or HealthPolicy()
        self._clock = clock
        self._wall_clock = wall_clock
        self._providers: dict[str, ProviderHealth] = {}
        self._budgets: dict[str, RetryBudget] = {}
        self._probes: dict[str, asyncio.Future[bool]] = {}
        self.on_eject: Callable[[str], None] = lambda provider: None

    def of(self, provider: str) -> ProviderHealth:
        """The health record of a provider (created on first use)."""
        return self._providers.setdefault(provider, ProviderHealth())

    def budget(self, provider: str) -> RetryBudget:
        """The retry budget of a provider."""
        budget = self._budgets.get(provider)
        if budget is None:
            budget = RetryBudget(self.policy.retry_budget, self._clock)
            self._budgets[provider] = budget
        return budget

    def observe(
        self, provider: str, operation: str, outcome: str, elapsed_s: float
    ) -> None:
        """Count one call's outcome."""
        self.budget(provider).earn()
        health = self.of(provider)
        if outcome in SUCCESSES:
            health.consecutive_failures = 0
            health.last_seen = self._wall_clock()
            return
        if outcome not in FAILURES:
            return
        health.consecutive_failures += 1
        health.last_error = f"{operation} ended in {outcome}."
        if (
            health.consecutive_failures >= self.policy.max_failures
            and not self.is_ejected(provider)
        ):
            self._eject(provider, health)

    def _eject(self, provider: str, health: ProviderHealth) -> None:
        health.ejections += 1
        duration = self.policy.ejection_s(health.ejections)
        health.ejected_until = self._clock() + duration
        health.consecutive_failures = 0
        self.on_eject(provider)
        log.warning(
            "provider ejected provider=%s ejections=%d duration_s=%.0f",
            provider,
            health.ejections,
            duration,
        )

    def is_ejected(self, provider: str) -> bool:
        """Whether the provider is inside an ejection period."""
        return self._clock() < self.of(provider).ejected_until

    def needs_probe(self, provider: str) -> bool:
        """Whether an ejection ended and no probe has readmitted it yet."""
        health = self.of(provider)
        return health.ejected_until > 0 and not self.is_ejected(provider)

    def state(self, provider: str, enabled: bool = True) -> State:
        """The state shown to operators."""
        if not enabled:
            return "disabled"
        health = self.of(provider)
        if self.is_ejected(provider):
            return "ejected"
        if health.consecutive_failures > 0 or self.needs_probe(provider):
            return "degraded"
        return "healthy"

    async def admit(
        self, provider: str, probe: Callable[[], Awaitable[object]]
    ) -> bool:
        """Whether the provider may take calls; runs the one readmission probe."""
        if self.is_ejected(provider):
            return False
        if not self.needs_probe(provider):
            return True
        pending = self._probes.get(provider)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._probes[provider] = future
        try:
            ok = await self._probe(provider, probe)
            future.set_result(ok)
            return ok
        finally:
            del self._probes[provider]

    async def _probe(
        self, provider: str, probe: Callable[[], Awaitable[object]]
    ) -> bool:
        health = self.of(provider)
        try:
            await probe()
        except Exception as exc:  # noqa: BLE001 - any failure keeps it out
            health.last_error = f"Readmission probe failed ({type(exc).__name__})."
            self._eject(provider, health)
            return False
        health.ejected_until = 0.0
        health.consecutive_failures = 0
        health.last_seen = self._wall_clock()
        log.info("provider readmitted provider=%s", provider)
        return True
